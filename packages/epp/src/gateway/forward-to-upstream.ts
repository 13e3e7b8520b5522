import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { LlmdError, type Logger } from '@llmd/core';
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
  readonly headersTimeoutMilliseconds: number;
  readonly bodyIdleTimeoutMilliseconds: number;
  readonly clientStallMilliseconds: number;
  readonly logger: Logger;
}

/**
 * Where one attempt stands. `started`: final status and headers arrived, nothing went to the
 * client yet (the attempt can still be replaced by a fallback). `streaming`: the status line went
 * out, no retry any more. `finished`: ended, failed, or abandoned; late callbacks are ignored.
 */
type AttemptPhase = 'connecting' | 'started' | 'streaming' | 'finished';

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
 * Statuses and methods whose responses carry no body (RFC 9110 §6.4.1): an explicit length there
 * would describe some other representation, so Node frames those as it always did.
 */
function canDeclareLength(method: string, status: number): boolean {
  return method !== 'HEAD' && status !== 204 && status !== 304;
}

/**
 * One try against one target, as an undici dispatch handler. Handlers avoid undici's `request()`
 * API on purpose: that one builds a Readable stream (plus promise and abort-signal wiring) for
 * every response, which was most of the proxy's per-request cost. The attempt only relays its
 * callbacks to the owning {@link UpstreamForward} while it is the live one.
 */
class UpstreamAttempt implements Dispatcher.DispatchHandler {
  phase: AttemptPhase = 'connecting';
  controller: Dispatcher.DispatchController | undefined = undefined;
  statusCode = 0;
  headers: IncomingHttpHeaders | undefined = undefined;
  /** The first body chunk, kept until the parser has finished the read it came in (see `onResponseData`). */
  held: Buffer | undefined = undefined;

  constructor(
    readonly forward: UpstreamForward,
    readonly target: string,
    readonly isLastTarget: boolean,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Abandoned while it waited in undici's queue for a connection (the client left).
    if (this.phase === 'finished') controller.abort(abandonedError());
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    // 1xx informational responses precede the real one.
    if (this.phase !== 'connecting' || statusCode < 200) return;
    this.forward.responseStarted(this, statusCode, headers);
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.phase !== 'finished') this.forward.responseData(this, chunk);
  }

  onResponseEnd(): void {
    if (this.phase !== 'finished') this.forward.responseEnded(this);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.phase !== 'finished') this.forward.responseFailed(this, error);
  }

  /** Stop this attempt; undici errors it (and its socket) out, callbacks after this are ignored. */
  abandon(): void {
    if (this.phase === 'finished') return;
    this.phase = 'finished';
    this.held = undefined;
    // Without a controller the request still waits for a connection: `onRequestStart` aborts it.
    this.controller?.abort(abandonedError());
  }
}

function abandonedError(): LlmdError {
  return new LlmdError('internal', 'upstream request abandoned by the gateway');
}

/**
 * Send a routed request to its targets in order. A target is abandoned for the next one on a
 * connection error, a timeout, a 5xx, or a body that fails before its first byte — all before
 * anything reached the client. Once the response is committed there is no retry. The last target's
 * 5xx is passed on as it is (it is the model server's answer); when every target failed otherwise,
 * the client gets 502 (504 if the last failure was a timeout).
 *
 * The body is relayed through the exchange with backpressure: when the client's socket buffer is
 * full the upstream is paused (undici stops reading its socket, so TCP flow control slows the
 * model server) and resumed on `drain`. A client that drains nothing for `clientStallMilliseconds`
 * is disconnected. The owner reports a client that went away with {@link clientDisconnected}.
 */
export class UpstreamForward {
  readonly #input: ForwardInput;
  #targetIndex = -1;
  #attempt: UpstreamAttempt | undefined = undefined;
  #lastFailure: { reason: string; timedOut: boolean } | undefined = undefined;
  #resolve: ((outcome: ForwardOutcome) => void) | undefined = undefined;
  #settled = false;
  #stallTimer: NodeJS.Timeout | undefined = undefined;
  #onDrain: (() => void) | undefined = undefined;

  constructor(input: ForwardInput) {
    this.#input = input;
  }

  /** Start forwarding; resolves once, when the response ended, failed, or the client left. */
  run(): Promise<ForwardOutcome> {
    const outcome = new Promise<ForwardOutcome>((resolve) => {
      this.#resolve = resolve;
    });
    this.#tryNextTarget();
    return outcome;
  }

  /** The client went away: stop the upstream request, whatever phase it is in. */
  clientDisconnected(): void {
    if (this.#settled) return;
    this.#settle('client-disconnected');
    this.#attempt?.abandon();
  }

  responseStarted(attempt: UpstreamAttempt, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode >= 500 && !attempt.isLastTarget) {
      attempt.abandon();
      this.#attemptFailed(attempt, `status ${statusCode}`, false);
      return;
    }
    attempt.phase = 'started';
    attempt.statusCode = statusCode;
    attempt.headers = headers;
  }

  responseData(attempt: UpstreamAttempt, chunk: Buffer): void {
    if (attempt.phase === 'streaming') {
      this.#deliver(attempt, chunk);
      return;
    }
    if (attempt.held === undefined) {
      // Until the parser is done with this read, the end may still follow: a non-streaming answer
      // then goes out as one write with an exact content-length. Later chunks stream as they come.
      attempt.held = chunk;
      queueMicrotask(() => this.#releaseHeld(attempt));
      return;
    }
    const first = attempt.held;
    attempt.held = undefined;
    if (!this.#commit(attempt)) return;
    this.#deliver(attempt, first);
    this.#deliver(attempt, chunk);
  }

  responseEnded(attempt: UpstreamAttempt): void {
    const { response, exchange, logger, method } = this.#input;
    if (attempt.phase === 'started') {
      // The whole answer arrived before anything was sent: one write of headers and body.
      const held = attempt.held;
      attempt.held = undefined;
      attempt.phase = 'finished';
      // Plugins see the headers first, as always; the body's length is known once they rewrote it.
      const added = this.#exchangeHeaders(attempt);
      // One call that is also the last, as Envoy sends a body that fits one message with end_of_stream.
      const body = safeResponseChunk(exchange, held ?? emptyChunk, true, logger);
      const length = canDeclareLength(method, attempt.statusCode) ? body.byteLength : undefined;
      if (!this.#writeHead(attempt, added, length)) return;
      if (body.byteLength > 0) response.end(body);
      else response.end();
      this.#settle('completed');
      return;
    }
    attempt.phase = 'finished';
    const tail = safeResponseChunk(exchange, emptyChunk, true, logger);
    if (!response.destroyed && !response.writableEnded) {
      if (tail.byteLength > 0) response.end(tail);
      else response.end();
    }
    this.#settle('completed');
  }

  responseFailed(attempt: UpstreamAttempt, error: Error): void {
    const wasStreaming = attempt.phase === 'streaming';
    attempt.phase = 'finished';
    attempt.held = undefined;
    if (this.#settled) return;
    if (!wasStreaming) {
      this.#attemptFailed(attempt, describeError(error), isTimeout(error));
      return;
    }
    this.#input.logger.warn(
      { error: describeError(error) },
      'upstream failed while streaming; cutting the response off',
    );
    // The status line is gone: the only honest signal left is a truncated (chunked) body.
    this.#input.response.destroy();
    this.#settle('upstream-error');
  }

  #tryNextTarget(): void {
    if (this.#settled) return;
    const input = this.#input;
    const { targets } = input;
    const index = ++this.#targetIndex;
    if (index >= targets.length) {
      this.#attempt = undefined;
      const failure = this.#lastFailure;
      const status = failure?.timedOut ? 504 : 502;
      sendOpenAiError(
        input.response,
        status,
        inferenceErrorMessage(
          status,
          `no endpoint could serve the request (${targets.length} tried; last: ${failure?.reason ?? 'none'})`,
        ),
      );
      this.#settle('upstream-error');
      return;
    }
    const target = targets[index] as string;
    const attempt = new UpstreamAttempt(this, target, index === targets.length - 1);
    this.#attempt = attempt;
    input.dispatcher.dispatch(
      {
        origin: `http://${target}`,
        path: input.path,
        method: input.method as Dispatcher.HttpMethod,
        headers: input.headers,
        body: input.body ?? null,
        headersTimeout: input.headersTimeoutMilliseconds,
        bodyTimeout: input.bodyIdleTimeoutMilliseconds,
      },
      attempt,
    );
  }

  #attemptFailed(attempt: UpstreamAttempt, reason: string, timedOut: boolean): void {
    this.#lastFailure = { reason, timedOut };
    this.#input.logger.warn(
      {
        endpoint: attempt.target,
        reason,
        fallbacksLeft: this.#input.targets.length - this.#targetIndex - 1,
      },
      'endpoint failed before the response started',
    );
    this.#tryNextTarget();
  }

  /** The parser finished the read that brought the first chunk and no end came with it: stream. */
  #releaseHeld(attempt: UpstreamAttempt): void {
    const held = attempt.held;
    if (held === undefined || attempt.phase !== 'started' || this.#settled) return;
    attempt.held = undefined;
    if (this.#commit(attempt)) this.#deliver(attempt, held);
  }

  /** Send the status line and headers of a body that streams: from here on there is no retry. */
  #commit(attempt: UpstreamAttempt): boolean {
    attempt.phase = 'streaming';
    return this.#writeHead(attempt, this.#exchangeHeaders(attempt), undefined);
  }

  /** The response plugins' view of the status and headers; returns the headers they add. */
  #exchangeHeaders(attempt: UpstreamAttempt): Readonly<Record<string, string>> {
    try {
      return this.#input.exchange.responseHeaders({
        status: attempt.statusCode,
        headers: flattenResponseHeaders(attempt.headers ?? {}),
        servedEndpoint: attempt.target,
      });
    } catch (error) {
      this.#input.logger.error(
        { error: describeError(error) },
        'response-header plugins failed; sending the upstream headers',
      );
      return {};
    }
  }

  /**
   * `contentLength` is given when the whole body is known. Returns false when the client is
   * already gone (the forward is then settled).
   */
  #writeHead(
    attempt: UpstreamAttempt,
    added: Readonly<Record<string, string>>,
    contentLength: number | undefined,
  ): boolean {
    const { response } = this.#input;
    if (response.destroyed) {
      this.#settle('client-disconnected');
      attempt.abandon();
      return false;
    }
    const headers = clientResponseHeaders(attempt.headers ?? {}, added);
    if (contentLength !== undefined) headers['content-length'] = contentLength;
    response.writeHead(attempt.statusCode, headers);
    return true;
  }

  /** Pass one chunk on; pauses the upstream when the client's buffer is full. */
  #deliver(attempt: UpstreamAttempt, chunk: Uint8Array): void {
    const { response, exchange, logger } = this.#input;
    const out = safeResponseChunk(exchange, chunk, false, logger);
    if (out.byteLength === 0 || response.destroyed) return;
    if (response.write(out)) return;
    attempt.controller?.pause();
    if (this.#stallTimer !== undefined) return; // already waiting for this drain
    this.#onDrain ??= () => this.#drained();
    response.once('drain', this.#onDrain);
    this.#stallTimer = setTimeout(() => {
      logger.warn(
        { stallMilliseconds: this.#input.clientStallMilliseconds },
        'client stopped reading; disconnecting it',
      );
      // Its 'close' reaches the owner, which reports the disconnect back here.
      response.destroy();
    }, this.#input.clientStallMilliseconds);
    this.#stallTimer.unref?.();
  }

  #drained(): void {
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    const attempt = this.#attempt;
    if (!this.#settled && attempt?.phase === 'streaming') attempt.controller?.resume();
  }

  #settle(outcome: ForwardOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    if (this.#stallTimer !== undefined) {
      clearTimeout(this.#stallTimer);
      this.#stallTimer = undefined;
    }
    if (this.#onDrain) this.#input.response.off('drain', this.#onDrain);
    this.#resolve?.(outcome);
  }
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
