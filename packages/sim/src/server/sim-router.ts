import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  handleChatRender,
  handleCompletionRender,
  handleDetokenize,
  handleLoadLora,
  handleModels,
  handleTokenize,
  handleUnloadLora,
} from './auxiliary-handlers.js';
import { handleGeneration } from './generation-handler.js';
import { HttpError, sendError, sendJson } from './http-utilities.js';
import { handleKvTransferRelease, kvTransferReleasePath } from './kv-transfer-release.js';
import type { SimPodContext } from './sim-pod-context.js';

type Handler = (
  request: IncomingMessage,
  response: ServerResponse,
  context: SimPodContext,
) => Promise<void> | void;

const needsReadiness = new Set(['/v1/completions', '/v1/chat/completions']);

const routes: Record<string, Partial<Record<'GET' | 'POST', Handler>>> = {
  '/health': { GET: (_request, response) => void response.writeHead(200).end() },
  '/health/ready': {
    GET: (_request, response, context) =>
      context.isReady()
        ? void response.writeHead(200).end()
        : sendJson(response, 503, { status: 'starting' }),
  },
  '/metrics': {
    GET: async (_request, response, context) => {
      const text = await context.metrics.registry.metrics();
      response.writeHead(200, { 'content-type': context.metrics.registry.contentType });
      response.end(text);
    },
  },
  '/version': { GET: (_request, response) => sendJson(response, 200, { version: 'llmd-sim' }) },
  '/v1/models': { GET: (_request, response, context) => handleModels(response, context) },
  '/v1/completions': {
    POST: (request, response, context) => handleGeneration('completion', request, response, context),
  },
  '/v1/chat/completions': {
    POST: (request, response, context) => handleGeneration('chat', request, response, context),
  },
  '/tokenize': { POST: handleTokenize },
  '/detokenize': { POST: handleDetokenize },
  '/v1/completions/render': { POST: handleCompletionRender },
  '/v1/chat/completions/render': { POST: handleChatRender },
  '/v1/load_lora_adapter': { POST: handleLoadLora },
  '/v1/unload_lora_adapter': { POST: handleUnloadLora },
  [kvTransferReleasePath]: { POST: handleKvTransferRelease },
  '/reset_prefix_cache': {
    POST: (_request, response, context) =>
      sendJson(response, 200, { reset: context.engine.resetPrefixCache() }),
  },
};

/** Dispatch one request; every failure becomes an OpenAI-style error response, never a crash. */
export async function routeRequest(
  request: IncomingMessage,
  response: ServerResponse,
  context: SimPodContext,
): Promise<void> {
  try {
    const path = (request.url ?? '/').split('?', 1)[0] as string;
    const route = routes[path];
    if (!route) throw new HttpError(404, `Not found: ${path}`);
    const handler = route[request.method as 'GET' | 'POST'];
    if (!handler) throw new HttpError(405, `Method ${request.method} is not allowed on ${path}`);
    if (needsReadiness.has(path) && !context.isReady())
      throw new HttpError(503, 'The server is starting up and not ready yet.');
    await handler(request, response, context);
  } catch (error) {
    if (error instanceof HttpError) {
      sendError(response, error);
      return;
    }
    context.logger.error(
      { error: error instanceof Error ? error.message : String(error), url: request.url },
      'request failed',
    );
    sendError(
      response,
      new HttpError(500, `Internal error: ${error instanceof Error ? error.message : String(error)}`),
    );
  }
}
