/**
 * The EPP data layer: the datastore of endpoints and metrics, the discovery sources that fill it
 * (static list, file, Kubernetes InferencePool) and the metrics collector that scrapes model servers.
 * Test helpers in this folder (`fake-kubernetes-api-server.ts`, `recording-logger.ts`) are not exported.
 */
export {
  Datastore,
  type DatastoreOptions,
  type EndpointSetChange,
  type EndpointSetListener,
} from './datastore.js';
export type { EndpointDiscovery } from './endpoint-discovery.js';
export {
  builtinEngineConfigs,
  type EngineConfig,
  type EngineConfigInput,
  type EngineMetricMapping,
  EngineMetricMappings,
  type EngineMetricsConfigInput,
  engineConfigSchema,
  engineMetricsConfigSchema,
  extractEndpointMetrics,
  type MetricExtraction,
  type MetricSpec,
  parseMetricSpec,
} from './engine-metric-mappings.js';
export {
  type EndpointFile,
  endpointFileSchema,
  FileDiscovery,
  type FileDiscoveryOptions,
  parseEndpointFile,
} from './file-discovery.js';
export {
  type InferencePoolView,
  KubernetesDiscovery,
  type KubernetesDiscoveryOptions,
} from './kubernetes-discovery.js';
export {
  type EndpointScrapeStats,
  MetricsCollector,
  type MetricsCollectorOptions,
  type MetricsCollectorStats,
  type MetricsCollectorTlsOptions,
  minimumRefreshIntervalMilliseconds,
} from './metrics-collector.js';
export { type PrometheusSample, parsePrometheusText } from './prometheus-text-parser.js';
export { isStale } from './staleness.js';
export {
  parseEndpointList,
  StaticDiscovery,
  type StaticDiscoveryOptions,
  type StaticEndpointEntry,
} from './static-discovery.js';
