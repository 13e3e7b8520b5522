import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Logger } from '@llmd/core';
import type { Dispatcher } from 'undici';
import type { ResponseExchange } from '../pipeline/request-outcome.js';
import { inferenceErrorMessage, sendOpenAiError } from './openai-error-response.js';
import { clientResponseHeaders, flattenResponseHeaders } from './proxy-headers.js';

export type ForwardOutcome = 'completed' | 'client-disconnected' | 'upstream-error';

export interface ForwardInput {
  readonly dispatcher: Dispatcher;
  readonly method: string;
  readonly path: string;
  /** Final upstream request headers (see `upstreamRequestHeaders`). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array | undefined;
  /** `ip:port`, primary first; later entries are fallbacks. */
  readonly targets: ReadonlyArray<string>;
  readonly exchange: ResponseExchange;
  readonly response: ServerResponse;
  /** Aborted when the client goes away: cancels the upstream request too. */
  readonly signal: AbortSignal;
  readonly headersTimeoutMilliseconds: number;
  readonly bodyIdleTimeoutMilliseconds: number;
  readonly clientStallMilliseconds: number;
  readonly logger: Logger;
}

type FirstChunk =
  | { readonly kind: 'data'; readonly chunk: Buffer }
  | { readonly kind: 'end' }
  | { readonly kind: 'error'; readonly error: unknown };

/** A response that has started well: its first chunk, or its end when the body is empty. */
type StartedBody = Exclude<FirstChunk, { readonly kind: 'error' }>;

type Attempt =
  | { readonly kind: 'ready'; readonly upstream: Dispatcher.ResponseData; readonly first: StartedBody }
  | { readonly kind: 'failed'; readonly reason: string; readonly timedOut: boolean }
  | { readonly kind: 'client-gone' };

const timeoutErrorCodes: ReadonlySet<string> = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

const emptyChunk = new Uint8Array(0);

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

function isTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && timeoutErrorCodes.has(code);
}

/**
 * Wait for the first body chunk (or the end) of a response. Until it arrives nothing has been sent
 * to the client, so a target that dies between its headers and its first token can still be
 * replaced by the next fallback.
 */
function readFirstChunk(body: Readable): Promise<FirstChunk> {
  return new Promise((resolve) => {
    const settle = (result: FirstChunk) => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      body.pause();
      settle({ kind: 'data', chunk });
    };
    const onEnd = () => settle({ kind: 'end' });
    const onError = (error: unknown) => settle({ kind: 'error', error });
    const onClose = () => settle({ kind: 'error', error: new Error('response body closed before it ended') });
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
    body.on('close', onClose);
  });
}

/** Calls into the pipeline's exchange are someone else's code: a throw must not take the request down. */
function safeResponseChunk(
  exchange: ResponseExchange,
  chunk: Uint8Array,
  endOfStream: boolean,
  logger: Logger,
): Uint8Array {
  try {
    return exchange.responseChunk(chunk, endOfStream);
  } catch (error) {
    logger.error(
      { error: describeError(error) },
      'response plugin failed on a body chunk; passing it on unchanged',
    );
    return chunk;
  }
}

/**
 * Stream an upstream body to the client through the exchange, honouring backpressure: when the
 * client's socket buffer is full the upstream body is paused (undici then stops reading the socket,
 * so TCP flow control slows the model server) and resumed on `drain`. A client that drains nothing
 * for `clientStallMilliseconds` is disconnected.
 */
function relayBody(input: ForwardInput, body: Readable, first: StartedBody): Promise<ForwardOutcome> {
  const { response, exchange, logger, signal } = input;
  return new Promise((resolve) => {
    let settled = false;
    let stallTimer: NodeJS.Timeout | undefined;
    const settle = (outcome: ForwardOutcome) => {
      if (settled) return;
      settled = true;
      if (stallTimer) clearTimeout(stallTimer);
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      response.off('drain', onDrain);
      signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const onDrain = () => {
      if (stallTimer) clearTimeout(stallTimer);
      stallTimer = undefined;
      if (!settled) body.resume();
    };
    /** Returns false when the caller must stop feeding until `drain`. */
    const deliver = (chunk: Uint8Array): boolean => {
      const out = safeResponseChunk(exchange, chunk, false, logger);
      if (out.byteLength === 0 || response.destroyed) return true;
      if (response.write(out)) return true;
      body.pause();
      if (stallTimer) return false; // already waiting for this drain
      response.once('drain', onDrain);
      stallTimer = setTimeout(() => {
        logger.warn(
          { stallMilliseconds: input.clientStallMilliseconds },
          'client stopped reading; disconnecting it',
        );
        response.destroy();
      }, input.clientStallMilliseconds);
      stallTimer.unref?.();
      return false;
    };
    const finish = () => {
      const tail = safeResponseChunk(exchange, emptyChunk, true, logger);
      if (!response.destroyed && !response.writableEnded) {
        if (tail.byteLength > 0) response.end(tail);
        else response.end();
      }
      settle('completed');
    };
    const onData = (chunk: Buffer) => {
      deliver(chunk);
    };
    const onEnd = () => finish();
    const onError = (error: unknown) => {
      if (signal.aborted) {
        settle('client-disconnected');
        return;
      }
      logger.warn(
        { error: describeError(error) },
        'upstream failed while streaming; cutting the response off',
      );
      // The status line is gone: the only honest signal left is a truncated (chunked) body.
      response.destroy();
      settle('upstream-error');
    };
    const onClose = () => {
      if (!body.readableEnded) onError(new Error('upstream response closed before it ended'));
    };
    const onAbort = () => {
      body.destroy();
      settle('client-disconnected');
    };

    if (signal.aborted) {
      onAbort();
      return;
    }
    if (first.kind === 'data' && body.readableEnded) {
      // The whole body came with its first chunk (typical of non-streaming answers): one write of
      // headers and body, which also lets Node send an exact content-length instead of chunks.
      const out = safeResponseChunk(exchange, first.chunk, false, logger);
      const tail = safeResponseChunk(exchange, emptyChunk, true, logger);
      if (!response.destroyed) response.end(tail.byteLength === 0 ? out : Buffer.concat([out, tail]));
      settle('completed');
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    body.on('error', onError);
    body.on('close', onClose);
    if (first.kind === 'end') {
      finish();
      return;
    }
    body.on('end', onEnd);
    body.on('data', onData);
    const keepGoing = deliver(first.chunk);
    // A body that arrived whole emits 'end' on the next tick even while paused, i.e. possibly
    // before these listeners existed: read the state instead of waiting for an event.
    if (body.readableEnded) {
      finish();
      return;
    }
    if (body.destroyed) {
      onError(body.errored ?? new Error('upstream response closed before it ended'));
      return;
    }
    // `data` listeners resume a paused stream only when it was never paused explicitly.
    if (keepGoing) body.resume();
  });
}

async function attempt(input: ForwardInput, target: string, isLastTarget: boolean): Promise<Attempt> {
  let upstream: Dispatcher.ResponseData;
  try {
    upstream = await input.dispatcher.request({
      origin: `http://${target}`,
      path: input.path,
      method: input.method as Dispatcher.HttpMethod,
      headers: input.headers,
      body: input.body ?? null,
      signal: input.signal,
      headersTimeout: input.headersTimeoutMilliseconds,
      bodyTimeout: input.bodyIdleTimeoutMilliseconds,
    });
  } catch (error) {
    if (input.signal.aborted) return { kind: 'client-gone' };
    return { kind: 'failed', reason: describeError(error), timedOut: isTimeout(error) };
  }
  // Errors are consumed through readFirstChunk/relayBody; this listener only keeps a late error
  // between the two from being an unhandled 'error' event.
  upstream.body.on('error', () => {});
  if (upstream.statusCode >= 500 && !isLastTarget) {
    upstream.body.destroy();
    return { kind: 'failed', reason: `status ${upstream.statusCode}`, timedOut: false };
  }
  const first = await readFirstChunk(upstream.body);
  if (first.kind === 'error') {
    if (input.signal.aborted) return { kind: 'client-gone' };
    upstream.body.destroy();
    return { kind: 'failed', reason: describeError(first.error), timedOut: isTimeout(first.error) };
  }
  return { kind: 'ready', upstream, first };
}

/**
 * Send a routed request to its targets in order. A target is abandoned for the next one on a
 * connection error, a timeout, a 5xx, or a body that fails before its first byte — all before
 * anything reached the client. Once the response is committed there is no retry. The last target's
 * 5xx is passed on as it is (it is the model server's answer); when every target failed otherwise,
 * the client gets 502 (504 if the last failure was a timeout).
 */
export async function forwardToUpstream(input: ForwardInput): Promise<ForwardOutcome> {
  const { targets, logger, response, exchange } = input;
  let lastFailure: { reason: string; timedOut: boolean } | undefined;
  for (let index = 0; index < targets.length; index++) {
    const target = targets[index] as string;
    if (input.signal.aborted) return 'client-disconnected';
    const result = await attempt(input, target, index === targets.length - 1);
    if (result.kind === 'client-gone') return 'client-disconnected';
    if (result.kind === 'failed') {
      lastFailure = result;
      logger.warn(
        { endpoint: target, reason: result.reason, fallbacksLeft: targets.length - index - 1 },
        'endpoint failed before the response started',
      );
      continue;
    }
    const { upstream, first } = result;
    let added: Record<string, string> = {};
    try {
      added = exchange.responseHeaders({
        status: upstream.statusCode,
        headers: flattenResponseHeaders(upstream.headers),
        servedEndpoint: target,
      });
    } catch (error) {
      logger.error(
        { error: describeError(error) },
        'response-header plugins failed; sending the upstream headers',
      );
    }
    if (response.destroyed) {
      upstream.body.destroy();
      return 'client-disconnected';
    }
    response.writeHead(upstream.statusCode, clientResponseHeaders(upstream.headers, added));
    return relayBody(input, upstream.body, first);
  }
  const status = lastFailure?.timedOut ? 504 : 502;
  sendOpenAiError(
    response,
    status,
    inferenceErrorMessage(
      status,
      `no endpoint could serve the request (${targets.length} tried; last: ${lastFailure?.reason ?? 'none'})`,
    ),
  );
  return 'upstream-error';
}
