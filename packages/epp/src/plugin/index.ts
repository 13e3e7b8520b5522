export { type AttributeKey, AttributeMap, attributeKey } from './attribute-map.js';
export {
  type InFlightLoad,
  inFlightLoadAttribute,
  inFlightLoadDataKey,
  type PrefixCacheMatchInfo,
  prefixCacheMatchAttribute,
  prefixCacheMatchDataKey,
  type TokenizedPrompt,
  tokenizedPromptAttribute,
  tokenizedPromptDataKey,
} from './data-keys.js';
export {
  definePlugin,
  endpointHasLabels,
  type LoadedPlugin,
  type PluginDefinition,
  type PluginHandle,
  type PluginStability,
} from './define-plugin.js';
export {
  type EndpointMetrics,
  type EndpointState,
  emptyEndpointMetrics,
  type SchedulingEndpoint,
} from './endpoint-state.js';
export * from './plugin-interfaces.js';
export type { InferenceRequestBody, InferenceRequestKind, SchedulingRequest } from './scheduling-request.js';
