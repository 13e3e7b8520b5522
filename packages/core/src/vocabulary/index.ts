export {
  type Endpoint,
  type EndpointInput,
  type EndpointKey,
  createEndpoint,
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
  chatToolCallSchema,
  chatToolSchema,
  completionPromptSchema,
  completionRequestSchema,
} from './openai-requests.js';
