export {
  type GatewayEndpoint,
  type GatewayOptions,
  type GatewaySettings,
  type GatewaySettingsInput,
  gatewaySettingsSchema,
} from './gateway-options.js';
export { type Gateway, startGateway } from './gateway-server.js';
export { inferenceErrorMessage, openAiErrorBody } from './openai-error-response.js';
export {
  clientRequestHeaders,
  clientResponseHeaders,
  hopByHopHeaderNames,
  upstreamRequestHeaders,
} from './proxy-headers.js';
