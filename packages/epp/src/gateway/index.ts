export { type AggregatedModels, aggregateModels, type ModelListEntry } from './aggregate-models.js';
export { type ForwardInput, type ForwardOutcome, forwardToUpstream } from './forward-to-upstream.js';
export {
  type GatewayEndpoint,
  type GatewayOptions,
  type GatewaySettings,
  type GatewaySettingsInput,
  gatewaySettingsSchema,
} from './gateway-options.js';
export { type Gateway, startGateway } from './gateway-server.js';
export { inferenceErrorMessage, openAiErrorBody, sendOpenAiError } from './openai-error-response.js';
export {
  clientRequestHeaders,
  clientResponseHeaders,
  flattenResponseHeaders,
  hopByHopHeaderNames,
  upstreamRequestHeaders,
} from './proxy-headers.js';
