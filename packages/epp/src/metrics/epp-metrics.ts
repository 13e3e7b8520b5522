import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PipelineObserver, RequestLabels } from '../pipeline/pipeline-observer.js';
import type { DropReason } from '../pipeline/request-outcome.js';
import type { ResponseUsage } from '../pipeline/usage-tracker.js';
import type { LoadedPlugin } from '../plugin/define-plugin.js';
import type { EndpointState } from '../plugin/endpoint-state.js';
import type { RequestTerminationCause } from '../plugin/plugin-interfaces.js';
import type { ExtensionPoint, PluginMetricsSink } from '../scheduling/plugin-run-observer.js';

const prefix = 'llm_d_epp_';
/** llm-d caps each label's distinct values; overflow is reported as `other`. */
const maxLabelValues = 1000;

const secondsBuckets = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60, 120,
  180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600,
];
const schedulerBuckets = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1];
const bytesBuckets = [
  64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576, 2097152,
  4194304, 8388608, 16777216, 33554432, 67108864, 134217728, 268435456, 536870912, 1073741824,
];
const tokenBuckets = [
  1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32778, 65536, 131072, 262144, 524288,
  1048576,
];

const errorCodeOfStatus: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  404: 'NotFound',
  412: 'PreconditionFailed',
  413: 'RequestEntityTooLarge',
  429: 'ResourceExhausted',
  500: 'Internal',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
};

interface ModelSeries {
  readonly models: { model_name: string; target_model_name: string };
  readonly requestSize: { observe(value: number): void };
  readonly responseSize: { observe(value: number): void };
  readonly duration: { observe(value: number): void };
  readonly ttft: { observe(value: number): void };
  readonly running: { inc(): void; dec(): void };
  readonly inputTokens: { observe(value: number): void };
  readonly outputTokens: { observe(value: number): void };
  readonly cachedTokens: { observe(value: number): void };
}

/** Queue figures the flow controller reports, for the `flow_control_*` gauges. */
export interface FlowControlQueueStats {
  readonly queueSize: number;
  readonly queueBytes: number;
}

export interface EppMetricsOptions {
  /** The pool, for the pool-average gauges (refreshed on each scrape). */
  readonly endpoints: () => ReadonlyArray<EndpointState>;
  readonly saturation?: () => number;
  readonly flowControl?: () => FlowControlQueueStats;
  readonly commit?: string;
  readonly buildRef?: string;
}

/**
 * The EPP's Prometheus metrics under llm-d's `llm_d_epp_*` names, in a registry of its own (no
 * global registry, so several EPPs can share a process). Implements the pipeline and plugin
 * observers so the scheduler never imports prom-client.
 */
export class EppMetrics implements PipelineObserver, PluginMetricsSink {
  readonly registry = new Registry();
  readonly #labelValues = new Map<string, Set<string>>();
  readonly #requestTotal: Counter<string>;
  readonly #requestErrors: Counter<string>;
  readonly #requestDuration: Histogram<string>;
  readonly #requestSize: Histogram<string>;
  readonly #responseSize: Histogram<string>;
  readonly #inputTokens: Histogram<string>;
  readonly #outputTokens: Histogram<string>;
  readonly #cachedTokens: Histogram<string>;
  readonly #running: Gauge<string>;
  readonly #ttft: Histogram<string>;
  readonly #schedulerDuration: Histogram<string>;
  readonly #schedulerAttempts: Counter<string>;
  readonly #pluginDuration: Histogram<string>;
  readonly #pluginErrors: Counter<string>;
  readonly #disaggregation: Counter<string>;
  readonly #pluginDurationChildren = new WeakMap<
    LoadedPlugin,
    Map<ExtensionPoint, { observe(value: number): void }>
  >();
  readonly #modelChildren = new Map<string, ModelSeries>();

  constructor(options: EppMetricsOptions) {
    const registers = [this.registry];
    const requestLabels = ['model_name', 'target_model_name', 'fairness_id', 'priority'];
    this.#requestTotal = new Counter({
      name: `${prefix}request_total`,
      help: 'Requests routed by the EPP.',
      labelNames: requestLabels,
      registers,
    });
    this.#requestErrors = new Counter({
      name: `${prefix}request_error_total`,
      help: 'Requests that failed, by error code.',
      labelNames: ['model_name', 'target_model_name', 'error_code'],
      registers,
    });
    this.#requestDuration = new Histogram({
      name: `${prefix}request_duration_seconds`,
      help: 'End-to-end request latency seen by the EPP.',
      labelNames: ['model_name', 'target_model_name'],
      buckets: secondsBuckets,
      registers,
    });
    this.#requestSize = new Histogram({
      name: `${prefix}request_size_bytes`,
      help: 'Request body size.',
      labelNames: ['model_name', 'target_model_name'],
      buckets: bytesBuckets,
      registers,
    });
    this.#responseSize = new Histogram({
      name: `${prefix}response_size_bytes`,
      help: 'Response body size.',
      labelNames: ['model_name', 'target_model_name'],
      buckets: bytesBuckets,
      registers,
    });
    this.#inputTokens = new Histogram({
      name: `${prefix}request_input_tokens`,
      help: 'Prompt tokens per request (from usage).',
      labelNames: ['model_name', 'target_model_name'],
      buckets: tokenBuckets,
      registers,
    });
    this.#outputTokens = new Histogram({
      name: `${prefix}request_output_tokens`,
      help: 'Completion tokens per request (from usage).',
      labelNames: ['model_name', 'target_model_name'],
      buckets: tokenBuckets,
      registers,
    });
    this.#cachedTokens = new Histogram({
      name: `${prefix}request_cached_tokens`,
      help: 'Prompt tokens served from the prefix cache (from usage).',
      labelNames: ['model_name', 'target_model_name'],
      buckets: tokenBuckets,
      registers,
    });
    this.#running = new Gauge({
      name: `${prefix}request_running`,
      help: 'Requests in flight through the EPP.',
      labelNames: ['model_name', 'target_model_name'],
      registers,
    });
    this.#ttft = new Histogram({
      name: `${prefix}request_ttft_seconds`,
      help: 'Time to the first response body chunk.',
      labelNames: ['model_name', 'target_model_name'],
      buckets: secondsBuckets,
      registers,
    });
    this.#schedulerDuration = new Histogram({
      name: `${prefix}scheduler_e2e_duration_seconds`,
      help: 'Scheduling cycle latency (producers, profiles, picker).',
      buckets: schedulerBuckets,
      registers,
    });
    this.#schedulerAttempts = new Counter({
      name: `${prefix}scheduler_attempts_total`,
      help: 'Scheduling attempts by outcome.',
      labelNames: ['status'],
      registers,
    });
    this.#pluginDuration = new Histogram({
      name: `${prefix}plugin_duration_seconds`,
      help: 'Time spent in each plugin per extension point.',
      labelNames: ['extension_point', 'plugin_type', 'plugin_name'],
      buckets: schedulerBuckets,
      registers,
    });
    this.#pluginErrors = new Counter({
      name: `${prefix}plugin_error_total`,
      help: 'Plugin calls that threw or timed out (contained).',
      labelNames: ['extension_point', 'plugin_type', 'plugin_name'],
      registers,
    });
    this.#disaggregation = new Counter({
      name: `${prefix}disagg_decision_total`,
      help: 'P/D disaggregation decisions.',
      labelNames: ['model_name', 'decision_type'],
      registers,
    });

    const average = (pick: (state: EndpointState) => number) => () => {
      const endpoints = options.endpoints();
      if (endpoints.length === 0) return 0;
      let sum = 0;
      for (const state of endpoints) sum += pick(state);
      return sum / endpoints.length;
    };
    const poolGauge = (name: string, help: string, value: () => number) =>
      new Gauge({
        name: `${prefix}${name}`,
        help,
        registers,
        collect() {
          this.set(value());
        },
      });
    poolGauge(
      'average_kv_cache_utilization',
      'Average KV-cache utilisation of the pool (0–1).',
      average((state) => state.metrics.kvCacheUsagePercent),
    );
    poolGauge(
      'average_queue_size',
      'Average waiting queue of the pool.',
      average((state) => state.metrics.waitingQueueSize),
    );
    poolGauge(
      'average_running_requests',
      'Average running requests of the pool.',
      average((state) => state.metrics.runningRequestsSize),
    );
    poolGauge('ready_endpoints', 'Ready endpoints in the pool.', () => options.endpoints().length);
    if (options.saturation)
      poolGauge(
        'flow_control_pool_saturation',
        'Pool saturation per the saturation detector.',
        options.saturation,
      );
    const flowControl = options.flowControl;
    poolGauge(
      'flow_control_queue_size',
      'Requests waiting in flow control.',
      () => flowControl?.().queueSize ?? 0,
    );
    poolGauge(
      'flow_control_queue_bytes',
      'Bytes of requests waiting in flow control.',
      () => flowControl?.().queueBytes ?? 0,
    );
    new Gauge({
      name: `${prefix}info`,
      help: 'Build information.',
      labelNames: ['commit', 'build_ref'],
      registers,
    }).set({ commit: options.commit ?? 'unknown', build_ref: options.buildRef ?? 'unknown' }, 1);
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  #capped(label: string, value: string): string {
    let values = this.#labelValues.get(label);
    if (!values) {
      values = new Set();
      this.#labelValues.set(label, values);
    }
    if (values.has(value)) return value;
    if (values.size >= maxLabelValues) return 'other';
    values.add(value);
    return value;
  }

  #models(labels: RequestLabels): { model_name: string; target_model_name: string } {
    return {
      model_name: this.#capped('model_name', labels.modelName),
      target_model_name: this.#capped('target_model_name', labels.targetModelName),
    };
  }

  requestRejected(
    labels: RequestLabels | undefined,
    status: number,
    _dropReason: DropReason | undefined,
  ): void {
    const models = labels ? this.#models(labels) : { model_name: '', target_model_name: '' };
    this.#requestErrors.inc({ ...models, error_code: errorCodeOfStatus[status] ?? String(status) });
  }

  schedulingFinished(seconds: number, outcome: 'success' | 'failure'): void {
    this.#schedulerDuration.observe(seconds);
    this.#schedulerAttempts.inc({ status: outcome });
  }

  /** The labelled children of the per-model series, created once per model pair. */
  #series(labels: RequestLabels): ModelSeries {
    const key = `${labels.modelName}\u0000${labels.targetModelName}`;
    let series = this.#modelChildren.get(key);
    if (!series) {
      const models = this.#models(labels);
      series = {
        models,
        requestSize: this.#requestSize.labels(models),
        responseSize: this.#responseSize.labels(models),
        duration: this.#requestDuration.labels(models),
        ttft: this.#ttft.labels(models),
        running: this.#running.labels(models),
        inputTokens: this.#inputTokens.labels(models),
        outputTokens: this.#outputTokens.labels(models),
        cachedTokens: this.#cachedTokens.labels(models),
      };
      // Bounded like the label values themselves: beyond the cap every new pair maps to `other`.
      if (this.#modelChildren.size < maxLabelValues) this.#modelChildren.set(key, series);
    }
    return series;
  }

  requestRouted(labels: RequestLabels, requestBytes: number): void {
    const series = this.#series(labels);
    this.#requestTotal.inc({
      ...series.models,
      fairness_id: this.#capped('fairness_id', labels.fairnessId),
      priority: String(labels.priority),
    });
    series.requestSize.observe(requestBytes);
    series.running.inc();
  }

  requestFinished(
    labels: RequestLabels,
    summary: {
      readonly cause: RequestTerminationCause;
      readonly status: number | undefined;
      readonly durationSeconds: number;
      readonly firstChunkSeconds: number | undefined;
      readonly responseBytes: number;
      readonly usage: ResponseUsage | undefined;
    },
  ): void {
    const models = this.#models(labels);
    this.#running.dec(models);
    this.#requestDuration.observe(models, summary.durationSeconds);
    this.#responseSize.observe(models, summary.responseBytes);
    if (summary.firstChunkSeconds !== undefined) this.#ttft.observe(models, summary.firstChunkSeconds);
    if (summary.usage) {
      this.#inputTokens.observe(models, summary.usage.promptTokens);
      this.#outputTokens.observe(models, summary.usage.completionTokens);
      if (summary.usage.cachedTokens !== undefined)
        this.#cachedTokens.observe(models, summary.usage.cachedTokens);
    }
    if (summary.cause === 'upstream-error' || (summary.status !== undefined && summary.status >= 400)) {
      const status = summary.status ?? 502;
      this.#requestErrors.inc({ ...models, error_code: errorCodeOfStatus[status] ?? String(status) });
    }
  }

  disaggregationDecision(modelName: string, decisionType: string): void {
    this.#disaggregation.inc({
      model_name: this.#capped('model_name', modelName),
      decision_type: decisionType,
    });
  }

  pluginDuration(extensionPoint: ExtensionPoint, plugin: LoadedPlugin, seconds: number): void {
    this.#pluginDuration.observe(
      { extension_point: extensionPoint, plugin_type: plugin.type, plugin_name: plugin.name },
      seconds,
    );
  }

  pluginError(extensionPoint: ExtensionPoint, plugin: LoadedPlugin): void {
    this.#pluginErrors.inc({
      extension_point: extensionPoint,
      plugin_type: plugin.type,
      plugin_name: plugin.name,
    });
  }
}
