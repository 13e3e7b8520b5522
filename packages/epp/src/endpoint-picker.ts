import { type Logger, noopLogger } from '@llmd/core';
import {
  type LoadedEndpointPickerConfig,
  loadEndpointPickerConfig,
} from './config/load-endpoint-picker-config.js';
import { Datastore } from './datalayer/datastore.js';
import type { EndpointDiscovery } from './datalayer/endpoint-discovery.js';
import { EngineMetricMappings } from './datalayer/engine-metric-mappings.js';
import { FileDiscovery } from './datalayer/file-discovery.js';
import { MetricsCollector } from './datalayer/metrics-collector.js';
import { InvalidConfigError } from './errors/invalid-config-error.js';
import { EppMetrics } from './metrics/epp-metrics.js';
import { EndpointPickerPipeline, type FlowAdmission } from './pipeline/endpoint-picker-pipeline.js';
import type { LoadedPlugin, PluginDefinition } from './plugin/define-plugin.js';
import type { DataLayerContribution } from './plugin/plugin-interfaces.js';
import { isEndpointLifecyclePlugin } from './plugin/plugin-interfaces.js';
import { createPluginRegistry } from './plugin/plugin-registry.js';
import { builtinPlugins } from './plugins/builtin-plugins.js';
import { Scheduler } from './scheduling/scheduler.js';

export interface CreateEndpointPickerOptions {
  /** EndpointPickerConfig as YAML text or an object; llm-d's defaults when omitted. */
  readonly config?: string | object;
  /** Third-party plugin types, registered next to the built-ins. */
  // biome-ignore lint/suspicious/noExplicitAny: plugin definitions of any parameter schema.
  readonly plugins?: ReadonlyArray<PluginDefinition<any>>;
  readonly allowExperimentalPlugins?: boolean;
  /** Where endpoints come from; overrides a `file-discovery` plugin in the config. */
  readonly discovery?: EndpointDiscovery;
  /** Metrics scrape period (`--refresh-metrics-interval`), default 50 ms. */
  readonly refreshMetricsIntervalMilliseconds?: number;
  /** Scrape endpoints' metrics (default true). Off for tests that set metrics by hand. */
  readonly scrapeMetrics?: boolean;
  /** InferenceObjective name → priority. */
  readonly objectives?: ReadonlyMap<string, number>;
  readonly disableEndpointSubsetFilter?: boolean;
  /**
   * Builds flow control when the `flowControl` feature gate is on. Supplied by the package's
   * default composition; custom embedders may pass their own.
   */
  readonly createFlowControl?: (context: FlowControlContext) => FlowAdmission & FlowControlHandle;
  readonly logger?: Logger;
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface FlowControlContext {
  readonly loaded: LoadedEndpointPickerConfig;
  readonly scheduler: Scheduler;
  readonly datastore: Datastore;
  readonly logger: Logger;
  readonly now: () => number;
}

export interface FlowControlHandle {
  stats(): { readonly queueSize: number; readonly queueBytes: number };
  close(): void | Promise<void>;
}

/** A running Endpoint Picker without transport: datastore, scheduler, pipeline and metrics. */
export interface EndpointPicker {
  readonly loaded: LoadedEndpointPickerConfig;
  readonly datastore: Datastore;
  readonly scheduler: Scheduler;
  readonly pipeline: EndpointPickerPipeline;
  readonly metrics: EppMetrics;
  /** Starts discovery and metrics scraping; resolves once discovery has listed the pool. */
  start(): Promise<void>;
  /** Pool synced and every plugin ready. */
  isReady(): boolean;
  close(): Promise<void>;
}

function contributions(plugins: ReadonlyArray<LoadedPlugin>): DataLayerContribution[] {
  return plugins.flatMap((plugin) => (plugin.behaviour.dataLayer ? [plugin.behaviour.dataLayer] : []));
}

/**
 * Composes an Endpoint Picker from an EndpointPickerConfig: the plugin graph, the datastore with
 * its discovery source and metrics collector, flow control when gated on, the request pipeline and
 * the `llm_d_epp_*` metrics. Both servers (ext_proc, gateway) and custom gateways sit on top.
 */
export async function createEndpointPicker(
  options: CreateEndpointPickerOptions = {},
): Promise<EndpointPicker> {
  const logger = options.logger ?? noopLogger;
  const now = options.now ?? Date.now;
  const datastore = new Datastore({ logger: logger.child({ component: 'datastore' }) });
  const registry = createPluginRegistry([...builtinPlugins, ...(options.plugins ?? [])]);
  const loaded = await loadEndpointPickerConfig({
    ...(typeof options.config === 'string' ? { text: options.config } : { config: options.config }),
    registry,
    allowExperimentalPlugins: options.allowExperimentalPlugins ?? false,
    logger,
    endpoints: () => datastore.snapshot(),
    now,
    ...(options.random ? { random: options.random } : {}),
  });

  let flowControl: (FlowAdmission & FlowControlHandle) | undefined;
  let scheduler: Scheduler | undefined;
  const metrics: EppMetrics = new EppMetrics({
    endpoints: () => datastore.snapshot(),
    saturation: (): number => scheduler?.saturation(datastore.snapshot()) ?? 0,
    flowControl: () => flowControl?.stats() ?? { queueSize: 0, queueBytes: 0 },
  });
  scheduler = new Scheduler(loaded.plugins, { logger: logger.child({ component: 'scheduler' }), metrics });
  if (loaded.featureGates.flowControl) {
    if (!options.createFlowControl) {
      throw new InvalidConfigError(
        'featureGates: flowControl is on but this embedding provides no flow controller',
      );
    }
    flowControl = options.createFlowControl({
      loaded,
      scheduler,
      datastore,
      logger: logger.child({ component: 'flow-control' }),
      now,
    });
  }
  const pipeline = new EndpointPickerPipeline({
    scheduler,
    endpoints: () => datastore.snapshot(),
    ...(flowControl ? { flowControl } : {}),
    ...(options.objectives ? { objectives: options.objectives } : {}),
    ...(options.disableEndpointSubsetFilter ? { disableEndpointSubsetFilter: true } : {}),
    observer: metrics,
    logger: logger.child({ component: 'pipeline' }),
    now,
    ...(options.random ? { random: options.random } : {}),
  });

  const dataLayer = contributions(loaded.plugins.all);
  const fileSource = dataLayer.find((entry) => entry.kind === 'file-discovery');
  const discovery: EndpointDiscovery | undefined =
    options.discovery ??
    (fileSource?.kind === 'file-discovery'
      ? new FileDiscovery({
          path: fileSource.path,
          watch: fileSource.watchFile,
          logger: logger.child({ component: 'file-discovery' }),
        })
      : undefined);
  if (!discovery) {
    throw new InvalidConfigError(
      'no endpoint discovery: pass endpoints (--endpoints / --endpoints-file), an InferencePool (--pool-name), or configure dataLayer.discovery with file-discovery',
    );
  }
  const metricsSource = dataLayer.find((entry) => entry.kind === 'metrics-source');
  const extractor = dataLayer.find((entry) => entry.kind === 'metrics-extractor');
  const collector =
    options.scrapeMetrics === false
      ? undefined
      : new MetricsCollector({
          datastore,
          refreshIntervalMilliseconds:
            (metricsSource?.kind === 'metrics-source' ? metricsSource.intervalMilliseconds : undefined) ??
            options.refreshMetricsIntervalMilliseconds ??
            50,
          ...(metricsSource?.kind === 'metrics-source'
            ? {
                scheme: metricsSource.scheme,
                path: metricsSource.path,
                tls: metricsSource.tls,
                ...(metricsSource.timeoutMilliseconds
                  ? { timeoutMilliseconds: metricsSource.timeoutMilliseconds }
                  : {}),
              }
            : {}),
          ...(extractor?.kind === 'metrics-extractor'
            ? { mappings: new EngineMetricMappings(extractor.engineMetrics as never) }
            : {}),
          logger: logger.child({ component: 'metrics-collector' }),
        });

  // Endpoint notifications (llm-d's endpoint-notification-source): the precise prefix producer
  // dials each pod's KV-event socket and clears the index when a pod leaves.
  const lifecyclePlugins = loaded.plugins.all
    .map((plugin) => plugin.behaviour)
    .filter(isEndpointLifecyclePlugin);
  const unsubscribe = datastore.onChange(({ added, removed }) => {
    for (const plugin of lifecyclePlugins) {
      for (const endpoint of added) safely(logger, () => plugin.endpointAdded?.(endpoint));
      for (const endpoint of removed) safely(logger, () => plugin.endpointRemoved?.(endpoint));
    }
    flowControl?.notify();
  });

  let closed = false;
  return {
    loaded,
    datastore,
    scheduler,
    pipeline,
    metrics,
    async start() {
      await discovery.start(datastore);
      await collector?.start();
      await datastore.whenSynced();
    },
    isReady: () => !closed && datastore.synced && scheduler.isReady(),
    async close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      await flowControl?.close();
      await discovery.stop();
      await collector?.stop();
      await scheduler.close();
    },
  };
}

function safely(logger: Logger, action: () => void): void {
  try {
    action();
  } catch (error) {
    logger.error({ error: String(error) }, 'endpoint notification failed');
  }
}
