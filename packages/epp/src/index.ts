export { defaultEndpointPickerConfig } from './config/default-endpoint-picker-config.js';
export { parseGoDurationMilliseconds } from './config/duration.js';
export {
  type EndpointPickerConfig,
  type EndpointPickerConfigInput,
  endpointPickerConfigApiVersions,
  endpointPickerConfigSchema,
  type FlowControlConfig,
  featureGateDefaults,
} from './config/endpoint-picker-config-schema.js';
export {
  decodeEndpointPickerConfig,
  type LoadEndpointPickerConfigOptions,
  type LoadedEndpointPickerConfig,
  loadEndpointPickerConfig,
} from './config/load-endpoint-picker-config.js';
export { Datastore, type EndpointSetChange } from './datalayer/datastore.js';
export type { EndpointDiscovery } from './datalayer/endpoint-discovery.js';
export { EngineMetricMappings, engineMetricsConfigSchema } from './datalayer/engine-metric-mappings.js';
export { FileDiscovery, type FileDiscoveryOptions, parseEndpointFile } from './datalayer/file-discovery.js';
export { KubernetesDiscovery, type KubernetesDiscoveryOptions } from './datalayer/kubernetes-discovery.js';
export { MetricsCollector, type MetricsCollectorOptions } from './datalayer/metrics-collector.js';
export { type PrometheusSample, parsePrometheusText } from './datalayer/prometheus-text-parser.js';
export {
  parseEndpointList,
  StaticDiscovery,
  type StaticDiscoveryOptions,
} from './datalayer/static-discovery.js';
export { createDefaultFlowControl } from './default-flow-control.js';
export {
  type CreateEndpointPickerOptions,
  createEndpointPicker,
  type EndpointPicker,
  type FlowControlContext,
  type FlowControlHandle,
} from './endpoint-picker.js';
export {
  type EppServerConfig,
  type EppServerConfigInput,
  eppServerConfigSchema,
  removedEppFlags,
} from './epp-server-config.js';
export { InvalidConfigError } from './errors/invalid-config-error.js';
export { createFlowController } from './flowcontrol/create-flow-controller.js';
export { FlowController, type FlowDecision, type FlowRequest } from './flowcontrol/flow-controller.js';
export type { GatewayOptions } from './gateway/gateway-options.js';
export { type Gateway, startGateway } from './gateway/gateway-server.js';
export { EppMetrics, type EppMetricsOptions } from './metrics/epp-metrics.js';
export {
  EndpointPickerPipeline,
  type EndpointPickerPipelineOptions,
  type FlowAdmission,
} from './pipeline/endpoint-picker-pipeline.js';
export type { PipelineObserver, RequestLabels } from './pipeline/pipeline-observer.js';
export {
  type DropReason,
  dropReasons,
  type IncomingRequest,
  type RejectOutcome,
  type RequestOutcome,
  type RequestPipeline,
  type ResponseExchange,
  type RouteOutcome,
} from './pipeline/request-outcome.js';
export * from './plugin/index.js';
export type {
  DataLayerContribution,
  DataLayerPlugin,
} from './plugin/plugin-interfaces.js';
export { createPluginRegistry, type PluginRegistry } from './plugin/plugin-registry.js';
export { builtinPlugins } from './plugins/builtin-plugins.js';
export {
  chatCompletionBody,
  completionBody,
  createSchedulingRequest,
  type SchedulingRequestInit,
} from './scheduling/create-scheduling-request.js';
export type { ExtensionPoint, PluginMetricsSink } from './scheduling/plugin-run-observer.js';
export {
  type ScheduleOutcome,
  Scheduler,
  type SchedulerOptions,
  type SchedulerPlugins,
} from './scheduling/scheduler.js';
export type { SchedulerProfile, WeightedScorer } from './scheduling/scheduler-profile.js';
export {
  type ExtProcServer,
  type ExtProcServerOptions,
  startExtProcServer,
} from './server/start-ext-proc-server.js';
export { type EppServer, type StartEppServerOptions, startEppServer } from './start-epp-server.js';
export { eppVersion } from './version.js';
