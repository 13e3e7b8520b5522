/**
 * Which Prometheus metrics of a model server feed which `EndpointMetrics` field, per engine (GIE's
 * model-server protocol): built-in mappings for vLLM, SGLang, trtllm-serve and Triton's TensorRT-LLM
 * backend, plus llm-d's `engineConfigs` for custom engines. The engine of an endpoint comes from its
 * `llm-d.ai/engine-type` label (legacy `inference.networking.k8s.io/engine-type`), else the default.
 */
import { type Endpoint, InvalidArgumentError, labelNames, parseWithSchema } from '@llmd/core';
import { z } from 'zod';
import type { EndpointMetrics } from '../plugin/endpoint-state.js';
import type { PrometheusSample } from './prometheus-text-parser.js';

/** A metric name with optional equality label matchers: `name` or `name{label=value,other="v"}`. */
export interface MetricSpec {
  readonly name: string;
  readonly labels: ReadonlyArray<readonly [string, string]>;
}

const metricNamePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Parses a spec string; the empty string means "disabled" and gives undefined. */
export function parseMetricSpec(text: string): MetricSpec | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const brace = trimmed.indexOf('{');
  const name = brace === -1 ? trimmed : trimmed.slice(0, brace).trim();
  if (!metricNamePattern.test(name))
    throw new InvalidArgumentError(`"${text}": "${name}" is not a metric name`);
  const labels: Array<readonly [string, string]> = [];
  if (brace !== -1) {
    if (!trimmed.endsWith('}')) throw new InvalidArgumentError(`"${text}": label matchers must end with "}"`);
    const body = trimmed.slice(brace + 1, -1).trim();
    for (const matcher of body === '' ? [] : body.split(',')) {
      const equals = matcher.indexOf('=');
      const labelName = matcher.slice(0, equals).trim();
      let value = matcher.slice(equals + 1).trim();
      if (equals === -1 || !labelNamePattern.test(labelName)) {
        throw new InvalidArgumentError(
          `"${text}": "${matcher.trim()}" is not a label matcher of the form label=value`,
        );
      }
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      labels.push([labelName, value] as const);
    }
  }
  return Object.freeze({ name, labels: Object.freeze(labels) });
}

/** One engine's resolved mapping. Undefined specs are disabled. */
export interface EngineMetricMapping {
  readonly name: string;
  readonly queuedRequests: MetricSpec | undefined;
  readonly runningRequests: MetricSpec | undefined;
  readonly kvUsage: MetricSpec | undefined;
  /** vLLM-style `lora_requests_info`: labels `max_lora`, `running_lora_adapters`, `waiting_lora_adapters`. */
  readonly lora: MetricSpec | undefined;
  /** An info gauge carrying the block size and block count as labels. */
  readonly cacheInfo: MetricSpec | undefined;
  readonly cacheBlockSizeLabel: string;
  readonly cacheNumBlocksLabel: string;
  /** For engines exposing the block size and count as separate gauges. */
  readonly cacheBlockSize: MetricSpec | undefined;
  readonly cacheNumBlocks: MetricSpec | undefined;
  /** Every metric name above: what the scraper asks the parser for. */
  readonly wantedNames: ReadonlySet<string>;
}

const specString = z.string().default('');

/** One entry of llm-d's `engineConfigs`. An empty spec disables that signal. */
export const engineConfigSchema = z
  .object({
    name: z.string().min(1),
    queuedRequestsSpec: specString,
    runningRequestsSpec: specString,
    kvUsageSpec: specString,
    loraSpec: specString,
    cacheInfoSpec: specString,
    /** Label of `cacheInfoSpec` holding the block size in tokens. Default `block_size`. */
    cacheBlockSizeLabel: z.string().min(1).default('block_size'),
    /** Label of `cacheInfoSpec` holding the number of blocks. Default `num_gpu_blocks`. */
    cacheNumBlocksLabel: z.string().min(1).default('num_gpu_blocks'),
    cacheBlockSizeSpec: specString,
    cacheNumBlocksSpec: specString,
  })
  .strict()
  .superRefine((config, context) => {
    for (const field of [
      'queuedRequestsSpec',
      'runningRequestsSpec',
      'kvUsageSpec',
      'loraSpec',
      'cacheInfoSpec',
      'cacheBlockSizeSpec',
      'cacheNumBlocksSpec',
    ] as const) {
      try {
        parseMetricSpec(config[field]);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message, path: [field] });
      }
    }
  });
export type EngineConfig = z.output<typeof engineConfigSchema>;
export type EngineConfigInput = z.input<typeof engineConfigSchema>;

/** The built-in engines (data-layer.md §1). A configured engine with the same name replaces one whole. */
export const builtinEngineConfigs: ReadonlyArray<EngineConfigInput> = Object.freeze([
  {
    name: 'vllm',
    queuedRequestsSpec: 'vllm:num_requests_waiting',
    runningRequestsSpec: 'vllm:num_requests_running',
    kvUsageSpec: 'vllm:kv_cache_usage_perc',
    loraSpec: 'vllm:lora_requests_info',
    cacheInfoSpec: 'vllm:cache_config_info',
  },
  {
    name: 'sglang',
    queuedRequestsSpec: 'sglang:num_queue_reqs',
    runningRequestsSpec: 'sglang:num_running_reqs',
    kvUsageSpec: 'sglang:token_usage',
    cacheInfoSpec: 'sglang:cache_config_info',
    cacheBlockSizeLabel: 'page_size',
    cacheNumBlocksLabel: 'num_pages',
  },
  {
    name: 'trtllm',
    queuedRequestsSpec: 'trtllm_num_requests_waiting',
    runningRequestsSpec: 'trtllm_num_requests_running',
    kvUsageSpec: 'trtllm_kv_cache_utilization',
    cacheBlockSizeSpec: 'trtllm_kv_cache_tokens_per_block',
    cacheNumBlocksSpec: 'trtllm_kv_cache_max_blocks',
  },
  {
    name: 'triton-tensorrt-llm',
    queuedRequestsSpec: 'nv_trt_llm_request_metrics{request_type=waiting}',
    runningRequestsSpec: 'nv_trt_llm_request_metrics{request_type=scheduled}',
    kvUsageSpec: 'nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=fraction}',
    cacheBlockSizeSpec: 'nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=tokens_per}',
    cacheNumBlocksSpec: 'nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=max}',
  },
]);

/** Other names the charts use for built-in engines (`router.modelServers.type: trtllm-serve`). */
const builtinAliases: Readonly<Record<string, string>> = Object.freeze({ 'trtllm-serve': 'trtllm' });

/** Parameters of the metrics extractor, as in llm-d's `core-metrics-extractor`. */
export const engineMetricsConfigSchema = z
  .object({
    /** Label naming the engine; default `llm-d.ai/engine-type`, then its legacy spelling. */
    engineLabelKey: z.string().min(1).optional(),
    /** Engine for endpoints without (or with an unknown) engine label. */
    defaultEngine: z.string().min(1).default('vllm'),
    /** Custom engines; built-ins not named here are kept. */
    engineConfigs: z.array(engineConfigSchema).default([]),
  })
  .strict()
  .superRefine((config, context) => {
    const seen = new Set<string>();
    config.engineConfigs.forEach((engine, index) => {
      if (seen.has(engine.name)) {
        context.addIssue({
          code: 'custom',
          message: `engine "${engine.name}" is configured twice`,
          path: ['engineConfigs', index, 'name'],
        });
      }
      seen.add(engine.name);
    });
    const known =
      seen.has(config.defaultEngine) ||
      builtinEngineConfigs.some((engine) => engine.name === config.defaultEngine) ||
      config.defaultEngine in builtinAliases;
    if (!known) {
      context.addIssue({
        code: 'custom',
        message: `"${config.defaultEngine}" is neither a built-in engine nor in engineConfigs`,
        path: ['defaultEngine'],
      });
    }
  });
export type EngineMetricsConfigInput = z.input<typeof engineMetricsConfigSchema>;

function buildMapping(config: EngineConfig): EngineMetricMapping {
  const mapping = {
    name: config.name,
    queuedRequests: parseMetricSpec(config.queuedRequestsSpec),
    runningRequests: parseMetricSpec(config.runningRequestsSpec),
    kvUsage: parseMetricSpec(config.kvUsageSpec),
    lora: parseMetricSpec(config.loraSpec),
    cacheInfo: parseMetricSpec(config.cacheInfoSpec),
    cacheBlockSizeLabel: config.cacheBlockSizeLabel,
    cacheNumBlocksLabel: config.cacheNumBlocksLabel,
    cacheBlockSize: parseMetricSpec(config.cacheBlockSizeSpec),
    cacheNumBlocks: parseMetricSpec(config.cacheNumBlocksSpec),
  };
  const wantedNames = new Set<string>();
  for (const spec of [
    mapping.queuedRequests,
    mapping.runningRequests,
    mapping.kvUsage,
    mapping.lora,
    mapping.cacheInfo,
    mapping.cacheBlockSize,
    mapping.cacheNumBlocks,
  ]) {
    if (spec) wantedNames.add(spec.name);
  }
  return Object.freeze({ ...mapping, wantedNames });
}

/** The engine mappings in effect: built-ins overlaid with configured engines. */
export class EngineMetricMappings {
  readonly #byName = new Map<string, EngineMetricMapping>();
  readonly #default: EngineMetricMapping;
  readonly #engineLabelKey: string | undefined;

  /** Throws a `ValidationError` (`invalid_config`) naming the field, e.g. `engineConfigs[0].kvUsageSpec`. */
  constructor(input: EngineMetricsConfigInput = {}) {
    const config = parseWithSchema(
      engineMetricsConfigSchema,
      input,
      'invalid_config',
      'engine metrics config',
    );
    const configured = new Set(config.engineConfigs.map((engine) => engine.name));
    for (const builtin of builtinEngineConfigs) {
      if (!configured.has(builtin.name))
        this.#byName.set(builtin.name, buildMapping(engineConfigSchema.parse(builtin)));
    }
    for (const engine of config.engineConfigs) this.#byName.set(engine.name, buildMapping(engine));
    for (const [alias, target] of Object.entries(builtinAliases)) {
      const mapping = this.#byName.get(target);
      if (!configured.has(alias) && mapping) this.#byName.set(alias, mapping);
    }
    this.#default = this.#byName.get(config.defaultEngine) as EngineMetricMapping;
    this.#engineLabelKey = config.engineLabelKey;
  }

  get(name: string): EngineMetricMapping | undefined {
    return this.#byName.get(name);
  }

  get defaultMapping(): EngineMetricMapping {
    return this.#default;
  }

  /** The mapping for an endpoint, from its engine label; unknown or missing labels get the default. */
  forEndpoint(endpoint: Endpoint): EngineMetricMapping {
    const engine = this.#engineLabelKey
      ? endpoint.labels[this.#engineLabelKey]
      : (endpoint.labels[labelNames.engineType] ?? endpoint.labels[labelNames.legacyEngineType]);
    return (engine !== undefined ? this.#byName.get(engine) : undefined) ?? this.#default;
  }
}

function matches(sample: PrometheusSample, spec: MetricSpec): boolean {
  if (sample.name !== spec.name) return false;
  for (const [label, value] of spec.labels) if (sample.labels[label] !== value) return false;
  return true;
}

/** The matching sample with the newest timestamp (the first one when none carries a timestamp). */
function findSample(
  samples: ReadonlyArray<PrometheusSample>,
  spec: MetricSpec,
): PrometheusSample | undefined {
  let found: PrometheusSample | undefined;
  for (const sample of samples) {
    if (!matches(sample, spec)) continue;
    if (
      !found ||
      (sample.timestamp ?? Number.NEGATIVE_INFINITY) > (found.timestamp ?? Number.NEGATIVE_INFINITY)
    )
      found = sample;
  }
  return found;
}

function parseCount(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isInteger(value) && value >= 0 ? value : undefined;
}

function splitAdapters(text: string | undefined): ReadonlyArray<string> {
  if (!text) return emptyList;
  return Object.freeze(
    text
      .split(',')
      .map((adapter) => adapter.trim())
      .filter((adapter) => adapter !== ''),
  );
}

const emptyList: ReadonlyArray<string> = Object.freeze([]);

export interface MetricExtraction {
  readonly metrics: EndpointMetrics;
  /** Enabled queue/running/KV specs the exposition lacked (those fields keep their previous values). */
  readonly missing: ReadonlyArray<string>;
}

/**
 * Builds an endpoint's metrics from a scrape. Signals missing from the exposition keep their previous
 * values; queue, running and KV are reported in `missing` (a misconfigured engine), LoRA and cache
 * info are optional (vLLM exposes LoRA info only with LoRA enabled).
 */
export function extractEndpointMetrics(
  mapping: EngineMetricMapping,
  samples: ReadonlyArray<PrometheusSample>,
  previous: EndpointMetrics,
  updateTime: number,
): MetricExtraction {
  const missing: string[] = [];
  const gauge = (spec: MetricSpec | undefined, fallback: number): number => {
    if (!spec) return fallback;
    const sample = findSample(samples, spec);
    if (!sample || Number.isNaN(sample.value)) {
      missing.push(spec.name);
      return fallback;
    }
    return sample.value;
  };
  let { activeModels, waitingModels, maxActiveModels, cacheBlockSize, cacheNumBlocks } = previous;
  if (mapping.lora) {
    // The value is the time of the last change: the newest series is the current state.
    let newest: PrometheusSample | undefined;
    for (const sample of samples) {
      if (matches(sample, mapping.lora) && (!newest || sample.value > newest.value)) newest = sample;
    }
    if (newest) {
      activeModels = splitAdapters(newest.labels.running_lora_adapters);
      waitingModels = splitAdapters(newest.labels.waiting_lora_adapters);
      maxActiveModels = parseCount(newest.labels.max_lora) ?? 0;
    } else {
      activeModels = emptyList;
      waitingModels = emptyList;
      maxActiveModels = 0;
    }
  }
  if (mapping.cacheInfo) {
    const info = findSample(samples, mapping.cacheInfo);
    if (info) {
      cacheBlockSize = parseCount(info.labels[mapping.cacheBlockSizeLabel]) ?? cacheBlockSize;
      cacheNumBlocks = parseCount(info.labels[mapping.cacheNumBlocksLabel]) ?? cacheNumBlocks;
    }
  }
  if (mapping.cacheBlockSize) {
    const value = findSample(samples, mapping.cacheBlockSize)?.value;
    if (value !== undefined && Number.isInteger(value) && value > 0) cacheBlockSize = value;
  }
  if (mapping.cacheNumBlocks) {
    const value = findSample(samples, mapping.cacheNumBlocks)?.value;
    if (value !== undefined && Number.isInteger(value) && value >= 0) cacheNumBlocks = value;
  }
  const metrics: EndpointMetrics = Object.freeze({
    waitingQueueSize: gauge(mapping.queuedRequests, previous.waitingQueueSize),
    runningRequestsSize: gauge(mapping.runningRequests, previous.runningRequestsSize),
    kvCacheUsagePercent: gauge(mapping.kvUsage, previous.kvCacheUsagePercent),
    activeModels,
    waitingModels,
    maxActiveModels,
    cacheBlockSize,
    cacheNumBlocks,
    updateTime,
  });
  return { metrics, missing };
}
