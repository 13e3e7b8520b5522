import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatEndpointKey, headerNames, noopLogger, parseWithSchema } from '@llmd/core';
import { Agent } from 'undici';
import type { RouteOutcome } from '../pipeline/request-outcome.js';
import type { RequestTerminationCause } from '../plugin/plugin-interfaces.js';
import { aggregateModels } from './aggregate-models.js';
import { UpstreamForward } from './forward-to-upstream.js';
import { type GatewayOptions, type GatewaySettings, gatewaySettingsSchema } from './gateway-options.js';
import { InFlightRequest } from './in-flight-request.js';
import { inferenceErrorMessage, openAiErrorBody, sendOpenAiError } from './openai-error-response.js';
import { clientRequestHeaders, upstreamRequestHeaders } from './proxy-headers.js';
import { readRequestBody } from './read-request-body.js';

export interface Gateway {
  /** `http://host:port`. */
  readonly url: string;
  readonly port: number;
  /**
   * Graceful stop: refuse new connections, let in-flight requests finish for up to
   * `timeoutMilliseconds` (default: the `closeTimeoutMs` setting), then abort the rest.
   */
  close(timeoutMilliseconds?: number): Promise<void>;
}

/** How long a connection that sent an over-limit body may keep sending before it is dropped. */
const oversizedBodyLingerMilliseconds = 2_000;

function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

function endpointKeyOf(endpoint: string | { readonly key: string }): string {
  return typeof endpoint === 'string' ? endpoint : endpoint.key;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Start the embedded OpenAI-compatible gateway: an HTTP reverse proxy that asks `pipeline` where
 * each request goes and streams it there over pooled keep-alive connections. It is what Envoy +
 * ext_proc do, in one process, for setups without Envoy (`llmd up`, custom gateways).
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { pipeline, endpoints, isReady = () => true, metricsHandler } = options;
  const settings: GatewaySettings = parseWithSchema(
    gatewaySettingsSchema,
    {
      port: options.port,
      host: options.host,
      maxBodyBytes: options.maxBodyBytes,
      upstreamTimeouts: options.upstreamTimeouts,
      maxConnectionsPerEndpoint: options.maxConnectionsPerEndpoint,
      maxInFlightRequests: options.maxInFlightRequests,
      modelsTimeoutMs: options.modelsTimeoutMs,
      clientStallMs: options.clientStallMs,
      clientRequestTimeoutMs: options.clientRequestTimeoutMs,
      closeTimeoutMs: options.closeTimeoutMs,
    },
    'invalid_argument',
    'gateway options',
  );
  const logger = (options.logger ?? noopLogger).child({ component: 'gateway' });

  // One agent = one keep-alive pool per endpoint origin, capped so a burst cannot open unbounded sockets.
  const agent = new Agent({
    connections: settings.maxConnectionsPerEndpoint,
    connect: { timeout: settings.upstreamTimeouts.connectMs },
    headersTimeout: settings.upstreamTimeouts.headersMs,
    bodyTimeout: settings.upstreamTimeouts.bodyIdleMs,
  });

  const inFlight = new Set<InFlightRequest>();
  let closing = false;
  let onIdle: (() => void) | undefined;

  const handleRoute = (
    request: IncomingMessage,
    state: InFlightRequest,
    outcome: RouteOutcome,
    clientHeaders: Readonly<Record<string, string>>,
  ): Promise<RequestTerminationCause> | RequestTerminationCause => {
    const { response } = state;
    if (state.isClientGone) return 'client-disconnected';
    if (outcome.targets.length === 0) {
      sendOpenAiError(
        response,
        503,
        inferenceErrorMessage(503, 'the pipeline routed the request to no endpoint'),
        { [headerNames.requestDroppedReason]: 'rejected-no-endpoints' },
      );
      return 'rejected';
    }
    const forward = new UpstreamForward({
      dispatcher: agent,
      method: request.method ?? 'GET',
      path: request.url ?? '/',
      headers: upstreamRequestHeaders({
        clientHeaders,
        headersToSet: outcome.headersToSet,
        headersToRemove: outcome.headersToRemove,
        requestId: outcome.requestId,
        bodyLength: outcome.body?.byteLength,
      }),
      body: outcome.body,
      targets: outcome.targets,
      exchange: outcome.exchange,
      response,
      headersTimeoutMilliseconds: settings.upstreamTimeouts.headersMs,
      bodyIdleTimeoutMilliseconds: settings.upstreamTimeouts.bodyIdleMs,
      clientStallMilliseconds: settings.clientStallMs,
      logger,
    });
    state.forward = forward;
    return forward.run();
  };

  const handleModels = async (response: ServerResponse) => {
    const result = await aggregateModels({
      dispatcher: agent,
      endpoints: endpoints().map(endpointKeyOf),
      timeoutMilliseconds: settings.modelsTimeoutMs,
      logger,
    });
    if (result.kind === 'list') sendJson(response, 200, result.body);
    else if (result.kind === 'no-endpoints')
      sendOpenAiError(response, 503, inferenceErrorMessage(503, 'the pool has no endpoints'), {
        [headerNames.requestDroppedReason]: 'rejected-no-endpoints',
      });
    else sendOpenAiError(response, 502, inferenceErrorMessage(502, 'no endpoint listed its models'));
  };

  const handleMetrics = async (response: ServerResponse) => {
    if (!metricsHandler) {
      sendOpenAiError(response, 404, 'metrics are not enabled on this gateway');
      return;
    }
    const { contentType, body } = await metricsHandler();
    response.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
    response.end(body);
  };

  const handleRequest = async (request: IncomingMessage, state: InFlightRequest) => {
    const { response } = state;
    const url = request.url ?? '/';
    if (!url.startsWith('/')) {
      // Absolute-form targets are forward-proxy requests; this is a reverse proxy.
      sendOpenAiError(response, 400, inferenceErrorMessage(400, 'the request target must be a path'));
      return;
    }
    if (request.method === 'GET') {
      const path = url.split('?', 1)[0] as string;
      if (path === '/health') {
        if (isReady()) sendJson(response, 200, { status: 'ok' });
        else sendJson(response, 503, { status: 'not ready' });
        return;
      }
      if (path === '/metrics') return handleMetrics(response);
      if (path === '/v1/models') return handleModels(response);
    }

    const bodyResult = await readRequestBody(request, settings.maxBodyBytes);
    if (bodyResult.kind === 'aborted') return;
    if (bodyResult.kind === 'too-large') {
      sendOpenAiError(
        response,
        413,
        inferenceErrorMessage(
          413,
          `request body ${bodyResult.declaredBytes === undefined ? 'exceeds' : `of ${bodyResult.declaredBytes} bytes exceeds`} the limit of ${settings.maxBodyBytes} bytes`,
        ),
        // The body's framing is abandoned mid-way: the connection cannot carry another request.
        { connection: 'close' },
      );
      // Discard what the client is still sending for a moment so it can read the 413 instead of a
      // reset, then drop the connection.
      request.resume();
      setTimeout(() => request.socket.destroy(), oversizedBodyLingerMilliseconds).unref();
      return;
    }

    const clientHeaders = clientRequestHeaders(request.headers);
    const outcome = await pipeline.handle({
      method: request.method ?? 'GET',
      path: url,
      headers: clientHeaders,
      body: bodyResult.body,
      // A getter, so a pipeline that never looks at the signal never pays for one.
      get signal() {
        return state.signal;
      },
    });
    if (outcome.kind === 'reject') {
      sendOpenAiError(
        response,
        outcome.status,
        inferenceErrorMessage(outcome.status, outcome.message),
        outcome.dropReason ? { [headerNames.requestDroppedReason]: outcome.dropReason } : {},
      );
      return;
    }
    let cause: RequestTerminationCause = 'upstream-error';
    try {
      cause = await handleRoute(request, state, outcome, clientHeaders);
    } finally {
      state.forward = undefined;
      try {
        outcome.exchange.complete(cause);
      } catch (error) {
        logger.error({ error: describeError(error) }, 'request-complete plugins failed');
      }
    }
  };

  /** Runs one request to its end; never rejects. */
  const serve = async (request: IncomingMessage, state: InFlightRequest) => {
    try {
      await handleRequest(request, state);
    } catch (error) {
      logger.error({ error: describeError(error), path: request.url }, 'gateway request failed');
      sendOpenAiError(state.response, 500, inferenceErrorMessage(500, 'internal gateway error'));
    } finally {
      inFlight.delete(state);
      if (inFlight.size === 0) onIdle?.();
    }
  };

  // Created once per server, not per request: they only log.
  const onClientResponseError = (error: Error) =>
    logger.debug({ error: error.message }, 'client connection error');
  const onClientRequestError = (error: Error) =>
    logger.debug({ error: error.message }, 'client request error');

  const server = createServer((request, response) => {
    const state = new InFlightRequest(response);
    // `request.on('close')` fires as soon as the body is read (Node >= 16), so only the response
    // closing before it finished means the client left.
    response.on('close', () => {
      if (!response.writableFinished) state.clientGone();
    });
    response.on('error', onClientResponseError);
    request.on('error', onClientRequestError);

    if (closing) {
      sendOpenAiError(response, 503, inferenceErrorMessage(503, 'the gateway is shutting down'), {
        [headerNames.requestDroppedReason]: 'rejected-shutting-down',
        connection: 'close',
      });
      return;
    }
    // Health and metrics stay answerable under overload: orchestrators must not restart a busy gateway.
    const isProbe = request.method === 'GET' && (request.url === '/health' || request.url === '/metrics');
    if (inFlight.size >= settings.maxInFlightRequests && !isProbe) {
      sendOpenAiError(
        response,
        503,
        inferenceErrorMessage(503, 'the gateway has too many requests in flight'),
      );
      return;
    }
    inFlight.add(state);
    void serve(request, state);
  });
  server.requestTimeout = settings.clientRequestTimeoutMs;
  // A client socket silent in both directions for longer than any legitimate wait (upstream headers
  // or body gap, plus a stalled write) is dead weight: Node destroys it.
  server.timeout =
    Math.max(settings.upstreamTimeouts.headersMs, settings.upstreamTimeouts.bodyIdleMs) +
    settings.clientStallMs;
  server.headersTimeout = Math.min(settings.clientRequestTimeoutMs, 60_000);
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    logger.debug({ error: error.message, code: error.code }, 'malformed or timed-out client request');
    if (!socket.writable || socket.destroyed) {
      socket.destroy();
      return;
    }
    const [status, reason] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout']
          : [400, 'Bad Request'];
    const body = openAiErrorBody(
      status,
      inferenceErrorMessage(status, `malformed HTTP request (${error.code ?? 'unknown'})`),
    );
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });

  let port: number;
  try {
    port = await listen(server, settings.host, settings.port);
  } catch (error) {
    await agent.close();
    throw error;
  }
  const url = `http://${formatEndpointKey(settings.host, port)}`;
  logger.info({ url }, 'gateway listening');

  /** Resolves when no request is in flight, or after `milliseconds`, whichever comes first. */
  const waitForIdle = async (milliseconds: number) => {
    if (inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => {
        onIdle = resolve;
      }),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, milliseconds);
      }),
    ]);
    clearTimeout(timer);
  };

  let closed: Promise<void> | undefined;
  const close = (timeoutMilliseconds = settings.closeTimeoutMs) => {
    closed ??= (async () => {
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await waitForIdle(timeoutMilliseconds);
      if (inFlight.size > 0) {
        logger.warn({ requests: inFlight.size }, 'aborting requests still in flight at shutdown');
        for (const entry of inFlight) entry.abort();
        // Aborted handlers finish within a few ticks (they report to their exchange); bounded anyway.
        await waitForIdle(1_000);
      }
      server.closeAllConnections();
      await stopped;
      await agent.destroy();
      logger.info({ url }, 'gateway closed');
    })();
    return closed;
  };

  return { url, port, close };
}
