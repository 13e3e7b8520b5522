export {
  createEndpoint,
  type Endpoint,
  type EndpointInput,
  type EndpointKey,
  endpointInputSchema,
  formatEndpointKey,
  parseEndpointKey,
} from './endpoint.js';
export {
  deprecatedHeaderAliases,
  headerNames,
  metadataNamespaces,
  routingHeaderNames,
} from './headers.js';
export {
  type AllBlocksClearedEvent,
  type BlockRemovedEvent,
  type BlockStoredEvent,
  formatKvEventTopic,
  type KvEvent,
  type KvEventBatch,
} from './kv-events.js';
export { type KvTransferParams, prefillLegKvTransferParams } from './kv-transfer-params.js';
export { type EndpointRole, type EngineType, endpointRoles, engineTypes, labelNames } from './labels.js';
export {
  type ChatCompletionRequest,
  type ChatMessage,
  type ChatTool,
  type CompletionRequest,
  chatCompletionRequestSchema,
  chatContentPartSchema,
  chatMessageSchema,
  chatMessageText,
  chatToolCallSchema,
  chatToolSchema,
  completionPromptSchema,
  completionRequestSchema,
} from './openai-requests.js';
