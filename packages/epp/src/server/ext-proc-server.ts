import * as grpc from '@grpc/grpc-js';
import { headerNames, InvalidArgumentError, LlmdError, type Logger, noopLogger } from '@llmd/core';
import type {
  IncomingRequest,
  RequestOutcome,
  RequestPipeline,
  ResponseExchange,
  RouteOutcome,
} from '../pipeline/request-outcome.js';
import type { RequestTerminationCause } from '../plugin/plugin-interfaces.js';
import { maxBodyChunkBytes, splitBody } from './body-chunks.js';
import { headerValueOption, headerValueOptions, readHeaderMap } from './envoy-headers.js';
import { destinationMetadata, readServedEndpoint, readSubsetHint } from './envoy-metadata.js';
import type {
  HttpBodyMessage,
  HttpHeadersMessage,
  ProcessingRequestMessage,
  ProcessingResponseMessage,
} from './ext-proc-messages.js';
import { type ImmediateResponseInput, immediateResponse } from './immediate-response.js';

/** Default bound on a buffered request body: 16 MiB. */
export const defaultMaxBodyBytes = 16 * 1024 * 1024;

/**
 * Requests read from a stream but not yet handled. Beyond this the stream is paused, which lets
 * gRPC/HTTP/2 flow control push back on Envoy instead of buffering without bound.
 */
const maxQueuedRequests = 16;

export interface ExtProcHandlerOptions {
  readonly pipeline: RequestPipeline;
  /** Envoy's `type.v3.StatusCode` names by number (from `loadExtProcProtos().httpStatusNames`). */
  readonly httpStatusNames: ReadonlyMap<number, string>;
  /** Largest request body buffered before answering 413; default 16 MiB. */
  readonly maxBodyBytes?: number;
  /**
   * Request-body bytes all streams together may hold while waiting for their routing decision;
   * beyond it new bytes are refused with 429 so many concurrent large prompts cannot exhaust
   * memory. Default 1 GiB.
   */
  readonly maxBufferedBodyBytes?: number;
  /** Add `x-gateway-destination-endpoint-scores` to the `envoy.lb` metadata (`--emit-endpoint-scores`). */
  readonly emitEndpointScores?: boolean;
  readonly logger?: Logger;
}

export type ExtProcCall = grpc.ServerDuplexStream<ProcessingRequestMessage, ProcessingResponseMessage>;

export interface ExtProcHandler {
  /** The `ExternalProcessor/Process` implementation, for `grpc.Server.addService`. */
  readonly process: (call: ExtProcCall) => void;
  /** Streams currently open (one per proxied HTTP request). */
  activeStreams(): number;
}

/**
 * The Envoy ext_proc `Process` handler (epp-protocol.md §3): one bidi stream per HTTP request,
 * request and response bodies in FULL_DUPLEX_STREAMED mode. The request is buffered until its
 * body ends, handed to the request pipeline, and the routing decision is sent back as a header
 * mutation plus `envoy.lb` metadata, followed by the (possibly rewritten) body. The response phase
 * goes through the pipeline's `ResponseExchange`.
 */
export function createExtProcHandler(options: ExtProcHandlerOptions): ExtProcHandler {
  const maxBodyBytes = options.maxBodyBytes ?? defaultMaxBodyBytes;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0) {
    throw new InvalidArgumentError(`maxBodyBytes must be a positive integer, got ${maxBodyBytes}`, {
      path: 'maxBodyBytes',
    });
  }
  const settings: StreamSettings = {
    pipeline: options.pipeline,
    httpStatusNames: options.httpStatusNames,
    maxBodyBytes,
    emitEndpointScores: options.emitEndpointScores ?? false,
    logger: (options.logger ?? noopLogger).child({ component: 'ext-proc' }),
    bufferBudget: { used: 0, limit: options.maxBufferedBodyBytes ?? defaultMaxBufferedBodyBytes },
  };
  let open = 0;
  return {
    process: (call) => {
      open += 1;
      new ExtProcStream(call, settings, () => {
        open -= 1;
      }).start();
    },
    activeStreams: () => open,
  };
}

const defaultMaxBufferedBodyBytes = 1024 * 1024 * 1024;

interface StreamSettings {
  /** Shared by every stream of one handler. */
  readonly bufferBudget: { used: number; readonly limit: number };
  readonly pipeline: RequestPipeline;
  readonly httpStatusNames: ReadonlyMap<number, string>;
  readonly maxBodyBytes: number;
  readonly emitEndpointScores: boolean;
  readonly logger: Logger;
}

/** Where a stream is: the protocol allows only these transitions, in this order. */
type Phase = 'request-headers' | 'request-body' | 'scheduling' | 'response' | 'closed';

/** A message that breaks the ext_proc ordering: the stream fails with INVALID_ARGUMENT. */
class ProtocolViolation extends LlmdError {
  constructor(message: string) {
    super('invalid_request', message);
    this.name = 'ProtocolViolation';
  }
}

class ExtProcStream {
  private phase: Phase = 'request-headers';
  private method = 'GET';
  private path = '/';
  private requestHeaders: Record<string, string> = {};
  private readonly bodyChunks: Uint8Array[] = [];
  private bodyBytes = 0;
  private subsetHint: string[] | undefined;
  private readonly abortController = new AbortController();
  private exchange: ResponseExchange | undefined;
  private exchangeCompleted = false;
  private responseFinished = false;
  private readonly queue: ProcessingRequestMessage[] = [];
  private pumping = false;
  private inputEnded = false;
  private tornDown = false;

  constructor(
    private readonly call: ExtProcCall,
    private readonly settings: StreamSettings,
    private readonly onTeardown: () => void,
  ) {}

  start(): void {
    this.call.on('data', (message: ProcessingRequestMessage) => this.receive(message));
    this.call.on('end', () => {
      this.inputEnded = true;
      void this.pump();
    });
    // grpc-js emits 'cancelled' (then destroys the stream) on RST_STREAM, deadline or shutdown.
    this.call.on('cancelled', () => this.abandon('cancelled'));
    // 'error' is also how a handler sets a failure status (grpc-js listens for it); by then the
    // stream is closed and abandon() is a no-op.
    this.call.on('error', () => this.abandon('error'));
    this.call.on('close', () => this.abandon('closed'));
  }

  private receive(message: ProcessingRequestMessage): void {
    if (this.phase === 'closed') return;
    this.queue.push(message);
    if (this.queue.length >= maxQueuedRequests) this.call.pause();
    void this.pump();
  }

  /** Handles queued messages strictly one after the other, so responses keep the request order. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let message = this.queue.shift(); message !== undefined; message = this.queue.shift()) {
        if (this.call.isPaused() && this.queue.length < maxQueuedRequests / 2) this.call.resume();
        if (this.phase === 'closed') break;
        await this.handle(message);
      }
      if (this.inputEnded && this.queue.length === 0) this.finishAfterClientEnd();
    } catch (error) {
      this.fail(error);
    } finally {
      this.pumping = false;
    }
  }

  private async handle(message: ProcessingRequestMessage): Promise<void> {
    if (this.phase !== 'response') {
      const hint = readSubsetHint(message.metadata_context);
      if (hint !== undefined) this.subsetHint = hint;
    }
    switch (message.request) {
      case 'request_headers':
        return this.onRequestHeaders(
          this.expect(message.request_headers, 'request-headers', message.request),
        );
      case 'request_body':
        return this.onRequestBody(this.expect(message.request_body, 'request-body', message.request));
      case 'request_trailers':
        return this.onRequestTrailers();
      case 'response_headers':
        return this.onResponseHeaders(
          this.expect(message.response_headers, 'response', message.request),
          message,
        );
      case 'response_body':
        return this.onResponseBody(this.expect(message.response_body, 'response', message.request));
      case 'response_trailers':
        this.expect({}, 'response', message.request);
        return this.onResponseTrailers();
      default:
        throw new ProtocolViolation(`processing request without a known member (${String(message.request)})`);
    }
  }

  private expect<T>(part: T | null | undefined, phase: Phase, kind: string): T {
    if (this.phase !== phase) throw new ProtocolViolation(`unexpected ${kind} while in phase ${this.phase}`);
    return part ?? ({} as T);
  }

  private async onRequestHeaders(message: HttpHeadersMessage): Promise<void> {
    const { headers, pseudoHeaders } = readHeaderMap(message.headers);
    this.requestHeaders = headers;
    this.method = pseudoHeaders[':method'] ?? 'GET';
    this.path = pseudoHeaders[':path'] ?? '/';
    if (message.end_of_stream === true) {
      // Body-less request (e.g. GET /v1/models): answer now, there is no body to wait for.
      this.phase = 'scheduling';
      await this.schedule(undefined, false);
      return;
    }
    this.phase = 'request-body';
  }

  private async onRequestBody(message: HttpBodyMessage): Promise<void> {
    const chunk = message.body ?? new Uint8Array(0);
    if (this.bodyBytes + chunk.length > this.settings.maxBodyBytes) {
      await this.reject({
        status: 413,
        dropReason: undefined,
        message: `request body exceeds ${this.settings.maxBodyBytes} bytes`,
      });
      return;
    }
    const budget = this.settings.bufferBudget;
    if (chunk.length > 0 && budget.used + chunk.length > budget.limit) {
      this.releaseBuffer();
      await this.reject({
        status: 429,
        dropReason: 'rejected-saturated',
        message: 'the EPP is holding too many request bodies; retry later',
      });
      return;
    }
    if (chunk.length > 0) {
      this.bodyChunks.push(chunk);
      this.bodyBytes += chunk.length;
      budget.used += chunk.length;
    }
    if (message.end_of_stream === true) {
      this.phase = 'scheduling';
      await this.schedule(this.bufferedBody(), false);
    }
  }

  /** Request trailers end the request body when the client sent trailers (HTTP/2, gRPC clients). */
  private async onRequestTrailers(): Promise<void> {
    if (this.phase === 'request-body') {
      this.phase = 'scheduling';
      await this.schedule(this.bufferedBody(), true);
      return;
    }
    if (this.phase !== 'response')
      throw new ProtocolViolation(`unexpected request_trailers in phase ${this.phase}`);
    await this.write({ request_trailers: {} });
  }

  private bufferedBody(): Uint8Array {
    return this.bodyChunks.length === 1 ? (this.bodyChunks[0] as Uint8Array) : Buffer.concat(this.bodyChunks);
  }

  /**
   * Runs the pipeline and answers: the held header response, then the body. `body` is undefined for
   * body-less requests, which get no Content-Length and no body messages.
   */
  private async schedule(body: Uint8Array | undefined, trailersFollow: boolean): Promise<void> {
    const request: IncomingRequest = {
      method: this.method,
      path: this.path,
      headers: this.requestHeaders,
      body,
      ...(this.subsetHint === undefined ? {} : { subsetHint: this.subsetHint }),
      signal: this.abortController.signal,
    };
    let outcome: RequestOutcome;
    try {
      outcome = await this.settings.pipeline.handle(request);
    } catch (error) {
      this.settings.logger.error(
        { error: error instanceof Error ? error.message : String(error), path: this.path },
        'request pipeline failed',
      );
      await this.reject({ status: 500, dropReason: undefined, message: 'request pipeline failed' });
      return;
    }
    if (this.phase === 'closed') {
      // The proxy went away while the request was being scheduled; nobody will report a response.
      if (outcome.kind === 'route')
        completeOnce(outcome.exchange, 'client-disconnected', this.settings.logger);
      return;
    }
    if (outcome.kind === 'reject') {
      this.settings.logger.debug(
        { requestId: outcome.requestId, status: outcome.status, dropReason: outcome.dropReason },
        'request rejected',
      );
      await this.reject(outcome);
      return;
    }
    this.exchange = outcome.exchange;
    this.phase = 'response';
    await this.sendRoute(outcome, body === undefined ? undefined : (outcome.body ?? body), trailersFollow);
  }

  private async sendRoute(
    outcome: RouteOutcome,
    body: Uint8Array | undefined,
    trailersFollow: boolean,
  ): Promise<void> {
    const destination = outcome.targets.join(',');
    const setHeaders = [headerValueOption(headerNames.destinationEndpoint, destination)];
    if (body !== undefined) setHeaders.push(headerValueOption('Content-Length', String(body.length)));
    // The server owns these two: a pipeline copy (e.g. the client's content-length) would be a second value.
    const ownedHeaders = new Set([headerNames.destinationEndpoint, 'content-length']);
    for (const [name, value] of Object.entries(outcome.headersToSet)) {
      if (!ownedHeaders.has(name.toLowerCase())) setHeaders.push(headerValueOption(name, value));
    }
    await this.write({
      request_headers: {
        response: {
          clear_route_cache: true,
          header_mutation: { set_headers: setHeaders, remove_headers: [...outcome.headersToRemove] },
        },
      },
      dynamic_metadata: destinationMetadata(
        destination,
        this.settings.emitEndpointScores ? outcome.endpointScores : undefined,
      ),
    });
    if (body !== undefined) await this.writeBody('request_body', body, !trailersFollow);
    // The body has gone back to the proxy: this stream no longer holds it.
    this.releaseBuffer();
    if (trailersFollow) await this.write({ request_trailers: {} });
    this.settings.logger.debug({ requestId: outcome.requestId, destination }, 'request routed');
  }

  /** Streams a body back as `streamed_response` messages of at most 62,000 bytes. */
  private async writeBody(
    phase: 'request_body' | 'response_body',
    body: Uint8Array,
    endOfStream: boolean,
  ): Promise<void> {
    const chunks = splitBody(body, maxBodyChunkBytes);
    for (const [index, chunk] of chunks.entries()) {
      const last = index === chunks.length - 1;
      await this.write({
        [phase]: {
          response: {
            body_mutation: { streamed_response: { body: chunk, end_of_stream: endOfStream && last } },
          },
        },
      });
    }
  }

  private async onResponseHeaders(
    message: HttpHeadersMessage,
    request: ProcessingRequestMessage,
  ): Promise<void> {
    const { headers, pseudoHeaders } = readHeaderMap(message.headers);
    const status = Number.parseInt(pseudoHeaders[':status'] ?? '', 10);
    let added: Record<string, string> = {};
    try {
      added = this.requireExchange().responseHeaders({
        status: Number.isNaN(status) ? 0 : status,
        headers,
        servedEndpoint: readServedEndpoint(request.metadata_context),
      });
    } catch (error) {
      // A failing response plugin must not break a response that is already on its way.
      this.logPluginFailure('responseHeaders', error);
    }
    await this.write({
      response_headers: {
        response: {
          header_mutation: {
            set_headers: headerValueOptions({ ...added, [headerNames.wentIntoResponseHeaders]: 'true' }),
          },
        },
      },
    });
    if (message.end_of_stream === true) this.finishResponse();
  }

  private async onResponseBody(message: HttpBodyMessage): Promise<void> {
    const chunk = message.body ?? new Uint8Array(0);
    const endOfStream = message.end_of_stream === true;
    let forwarded = chunk;
    try {
      forwarded = this.requireExchange().responseChunk(chunk, endOfStream);
    } catch (error) {
      this.logPluginFailure('responseChunk', error);
    }
    // An empty, non-final chunk carries nothing: in FULL_DUPLEX_STREAMED Envoy needs no reply to it.
    if (forwarded.length > 0 || endOfStream) await this.writeBody('response_body', forwarded, endOfStream);
    if (endOfStream) this.finishResponse();
  }

  private async onResponseTrailers(): Promise<void> {
    await this.write({ response_trailers: {} });
    this.finishResponse();
  }

  private requireExchange(): ResponseExchange {
    if (this.exchange === undefined) throw new ProtocolViolation('response phase without a routed request');
    return this.exchange;
  }

  private finishResponse(): void {
    this.responseFinished = true;
    this.completeExchange('completed');
  }

  private completeExchange(cause: RequestTerminationCause): void {
    if (this.exchange === undefined || this.exchangeCompleted) return;
    this.exchangeCompleted = true;
    completeOnce(this.exchange, cause, this.settings.logger);
  }

  /** Sends an immediate response (Envoy answers the client itself) and closes the stream. */
  private async reject(input: ImmediateResponseInput): Promise<void> {
    await this.write(immediateResponse(input, this.settings.httpStatusNames));
    this.close();
  }

  /** The proxy half-closed its side: the HTTP request is over. */
  private finishAfterClientEnd(): void {
    if (this.phase === 'closed') return;
    if (!this.responseFinished) this.abortController.abort();
    this.completeExchange(this.responseFinished ? 'completed' : 'client-disconnected');
    this.close();
  }

  /** Ends the stream with OK. */
  private close(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    try {
      this.call.end();
    } catch (error) {
      this.settings.logger.debug({ error: String(error) }, 'ending the ext_proc stream failed');
    }
    this.teardown();
  }

  /** Ends the stream with an error status; Envoy then applies its failure mode. */
  private fail(error: unknown): void {
    const violation = error instanceof ProtocolViolation;
    this.settings.logger.error(
      { error: error instanceof Error ? error.message : String(error), path: this.path },
      violation ? 'ext_proc protocol violation' : 'ext_proc stream failed',
    );
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.abortController.abort();
    this.completeExchange('client-disconnected');
    try {
      this.call.emit('error', {
        code: violation ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL,
        details: error instanceof Error ? error.message : String(error),
      });
    } catch (emitError) {
      this.settings.logger.debug({ error: String(emitError) }, 'failing the ext_proc stream failed');
    }
    this.teardown();
  }

  /** The stream went away under us (cancel, reset, transport error, server shutdown). */
  private abandon(reason: string): void {
    if (this.phase === 'closed') return;
    this.settings.logger.debug({ reason, path: this.path }, 'ext_proc stream ended by the proxy');
    this.phase = 'closed';
    this.queue.length = 0;
    this.abortController.abort();
    this.completeExchange('client-disconnected');
    this.teardown();
  }

  private teardown(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    this.releaseBuffer();
    this.onTeardown();
  }

  /** Returns this stream's buffered request bytes to the shared budget (once). */
  private releaseBuffer(): void {
    this.settings.bufferBudget.used -= this.bodyBytes;
    this.bodyBytes = 0;
    this.bodyChunks.length = 0;
  }

  /** Writes one response, waiting for the transport to drain when its buffer is full. */
  private async write(message: ProcessingResponseMessage): Promise<void> {
    if (this.phase === 'closed') return;
    const flushed = this.call.write(message);
    if (flushed) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.call.off('drain', done);
        this.call.off('close', done);
        resolve();
      };
      this.call.on('drain', done);
      this.call.on('close', done);
    });
  }

  private logPluginFailure(stage: string, error: unknown): void {
    this.settings.logger.error(
      { stage, error: error instanceof Error ? error.message : String(error), path: this.path },
      'response exchange failed; forwarding unchanged',
    );
  }
}

function completeOnce(exchange: ResponseExchange, cause: RequestTerminationCause, logger: Logger): void {
  try {
    exchange.complete(cause);
  } catch (error) {
    logger.error(
      { error: error instanceof Error ? error.message : String(error) },
      'completing a request failed',
    );
  }
}
