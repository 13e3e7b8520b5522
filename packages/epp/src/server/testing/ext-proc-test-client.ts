import * as grpc from '@grpc/grpc-js';
import { headerNames, LlmdError, metadataNamespaces } from '@llmd/core';
import { splitBody } from '../body-chunks.js';
import { readHeaderMap } from '../envoy-headers.js';
import type {
  HeaderMutationMessage,
  HeaderValueMessage,
  MetadataMessage,
  ProcessingRequestMessage,
  ProcessingResponseMessage,
} from '../ext-proc-messages.js';
import { type ExtProcProtos, loadExtProcProtos } from '../ext-proc-protos.js';
import { fromStructMessage, type StructOutput, toStructMessage } from '../struct-values.js';

const processPath = '/envoy.service.ext_proc.v3.ExternalProcessor/Process';

/** Received responses kept per stream before the test reads them; a runaway server fails the stream. */
const maxBufferedResponses = 10_000;

export interface ExtProcTestClientOptions {
  /** `host:port` of the EPP's ext_proc port. */
  readonly address: string;
  /**
   * TLS settings; plaintext when absent. `rootCertificatePem` trusts that certificate (e.g. the
   * server's self-signed one); `rejectUnauthorized: false` skips verification, as Envoy's EPP
   * cluster does.
   */
  readonly tls?: { readonly rootCertificatePem?: string; readonly rejectUnauthorized?: boolean };
  /** Reuse already loaded protos. */
  readonly protos?: ExtProcProtos;
  /** Default wait for a response, in milliseconds; default 5000. */
  readonly timeoutMilliseconds?: number;
}

export interface TestRequest {
  readonly method?: string;
  readonly path?: string;
  readonly authority?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Undefined → the request headers carry `end_of_stream` (a body-less request). */
  readonly body?: Uint8Array | string;
  /** Size of the request_body messages Envoy sends; default 16 KiB. */
  readonly chunkBytes?: number;
  /** Sent as `metadata_context.filter_metadata["envoy.lb.subset_hint"]` on every request message. */
  readonly subsetHint?: ReadonlyArray<string>;
  /** Send request trailers after the body instead of `end_of_stream` on the last chunk. */
  readonly trailers?: Readonly<Record<string, string>>;
}

export type RequestPhaseResult =
  | {
      readonly kind: 'routed';
      /** `x-gateway-destination-endpoint` from the header mutation. */
      readonly destination: string | undefined;
      /** Header mutation `set_headers` as a record, names lower-cased. */
      readonly setHeaders: Record<string, string>;
      readonly removeHeaders: string[];
      readonly clearRouteCache: boolean;
      /** `dynamic_metadata` as plain values. */
      readonly dynamicMetadata: { [key: string]: StructOutput };
      /** The streamed request body as re-sent to Envoy, concatenated. */
      readonly body: Buffer;
      /** Sizes of the streamed body messages, in order. */
      readonly bodyChunkSizes: number[];
      /** Every response received in this phase, in order. */
      readonly responses: ProcessingResponseMessage[];
    }
  | {
      readonly kind: 'immediate';
      readonly status: number;
      readonly headers: Record<string, string>;
      readonly body: string;
      readonly responses: ProcessingResponseMessage[];
    };

export interface TestResponse {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Reported as `filter_metadata["envoy.lb"]["x-gateway-destination-endpoint-served"]`. */
  readonly servedEndpoint?: string;
  /** Body chunks as the upstream delivered them; no chunks → `end_of_stream` on the headers. */
  readonly chunks?: ReadonlyArray<Uint8Array | string>;
  /** Send response trailers after the body (the last chunk then has no `end_of_stream`). */
  readonly trailers?: Readonly<Record<string, string>>;
}

export interface ResponsePhaseResult {
  /** `set_headers` of the response-headers reply, names lower-cased. */
  readonly setHeaders: Record<string, string>;
  /** The streamed response body as sent on to the client, concatenated. */
  readonly body: Buffer;
  readonly bodyChunkSizes: number[];
  readonly responses: ProcessingResponseMessage[];
}

/**
 * One ext_proc stream, driven the way Envoy drives it with FULL_DUPLEX_STREAMED bodies: request
 * messages go out without waiting for answers; answers are read in order with {@link next}.
 */
export class ExtProcTestStream {
  private readonly received: ProcessingResponseMessage[] = [];
  private waiter: { resolve: (message: ProcessingResponseMessage | undefined) => void } | undefined;
  private ended = false;
  private failure: Error | undefined;
  private firstMessage = true;
  /** The final gRPC status of the stream. */
  readonly status: Promise<grpc.StatusObject>;

  constructor(
    private readonly call: grpc.ClientDuplexStream<ProcessingRequestMessage, ProcessingResponseMessage>,
    private readonly timeoutMilliseconds: number,
    private readonly statusByName: ReadonlyMap<string, number>,
  ) {
    call.on('data', (message: ProcessingResponseMessage) => {
      if (this.received.length >= maxBufferedResponses) {
        this.failure = new LlmdError('internal', 'too many unread ext_proc responses');
        call.cancel();
        return;
      }
      this.received.push(message);
      this.wake();
    });
    call.on('end', () => {
      this.ended = true;
      this.wake();
    });
    // Errors (including the CANCELLED status after cancel()) end the stream; the status carries them.
    call.on('error', () => {
      this.ended = true;
      this.wake();
    });
    this.status = new Promise((resolve) => call.on('status', resolve));
  }

  private wake(): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    this.waiter = undefined;
    waiter.resolve(this.received.shift());
  }

  /** Sends one raw ProcessingRequest (the first one also carries Envoy's protocol_config). */
  send(message: ProcessingRequestMessage): void {
    const withConfig: ProcessingRequestMessage = this.firstMessage
      ? {
          ...message,
          protocol_config: {
            request_body_mode: 'FULL_DUPLEX_STREAMED',
            response_body_mode: 'FULL_DUPLEX_STREAMED',
          },
        }
      : message;
    this.firstMessage = false;
    this.call.write(withConfig);
  }

  sendRequestHeaders(
    request: Pick<TestRequest, 'method' | 'path' | 'authority' | 'headers' | 'subsetHint'>,
    endOfStream: boolean,
  ): void {
    const pseudo = {
      ':method': request.method ?? 'POST',
      ':path': request.path ?? '/v1/chat/completions',
      ':authority': request.authority ?? 'gateway.example',
      ':scheme': 'http',
    };
    this.send({
      request_headers: {
        headers: { headers: headerMap({ ...pseudo, ...request.headers }) },
        end_of_stream: endOfStream,
      },
      metadata_context: subsetHintMetadata(request.subsetHint),
    });
  }

  /** Sends a body as Envoy streams it: chunks of `chunkBytes`, the last one with `end_of_stream`. */
  sendRequestBody(
    body: Uint8Array | string,
    options: { chunkBytes?: number; subsetHint?: ReadonlyArray<string>; endOfStream?: boolean } = {},
  ): void {
    const chunks = splitBody(toBytes(body), options.chunkBytes ?? 16_384);
    for (const [index, chunk] of chunks.entries()) {
      this.send({
        request_body: {
          body: chunk,
          end_of_stream: (options.endOfStream ?? true) && index === chunks.length - 1,
        },
        metadata_context: subsetHintMetadata(options.subsetHint),
      });
    }
  }

  sendRequestTrailers(trailers: Readonly<Record<string, string>>): void {
    this.send({ request_trailers: { trailers: { headers: headerMap(trailers) } } });
  }

  sendResponseHeaders(
    response: Pick<TestResponse, 'status' | 'headers' | 'servedEndpoint'>,
    endOfStream: boolean,
  ): void {
    this.send({
      response_headers: {
        headers: { headers: headerMap({ ':status': String(response.status ?? 200), ...response.headers }) },
        end_of_stream: endOfStream,
      },
      metadata_context: servedEndpointMetadata(response.servedEndpoint),
    });
  }

  sendResponseBody(chunk: Uint8Array | string, endOfStream: boolean): void {
    this.send({ response_body: { body: toBytes(chunk), end_of_stream: endOfStream } });
  }

  sendResponseTrailers(trailers: Readonly<Record<string, string>> = {}): void {
    this.send({ response_trailers: { trailers: { headers: headerMap(trailers) } } });
  }

  /** Half-closes the stream, as Envoy does when the HTTP request is over. */
  end(): void {
    this.call.end();
  }

  /** Resets the stream, as Envoy does when the downstream client disconnects. */
  cancel(): void {
    this.call.cancel();
  }

  /** The next response, or undefined once the server ended the stream. Rejects on timeout. */
  async next(
    timeoutMilliseconds: number = this.timeoutMilliseconds,
  ): Promise<ProcessingResponseMessage | undefined> {
    if (this.failure !== undefined) throw this.failure;
    const ready = this.received.shift();
    if (ready !== undefined || this.ended) return ready;
    return new Promise<ProcessingResponseMessage | undefined>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new LlmdError('internal', `no ext_proc response within ${timeoutMilliseconds} ms`));
      }, timeoutMilliseconds);
      this.waiter = {
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
      };
    });
  }

  /** Like {@link next}, but a closed stream is an error. */
  async expectNext(): Promise<ProcessingResponseMessage> {
    const message = await this.next();
    if (message === undefined)
      throw new LlmdError('internal', 'the ext_proc stream ended before the expected response');
    return message;
  }

  /**
   * Sends a whole request and reads the request-phase answer: either an immediate response, or
   * the header response followed by the streamed body (until `end_of_stream`, or the request
   * trailers reply when trailers were sent).
   */
  async sendRequest(request: TestRequest): Promise<RequestPhaseResult> {
    const hasBody = request.body !== undefined;
    this.sendRequestHeaders(request, !hasBody);
    if (request.body !== undefined) {
      this.sendRequestBody(request.body, {
        ...(request.chunkBytes === undefined ? {} : { chunkBytes: request.chunkBytes }),
        ...(request.subsetHint === undefined ? {} : { subsetHint: request.subsetHint }),
        endOfStream: request.trailers === undefined,
      });
      if (request.trailers !== undefined) this.sendRequestTrailers(request.trailers);
    }
    const responses: ProcessingResponseMessage[] = [];
    const first = await this.expectNext();
    responses.push(first);
    if (first.response === 'immediate_response') {
      const immediate = first.immediate_response ?? {};
      return {
        kind: 'immediate',
        status: statusNumber(immediate.status?.code, this.statusByName),
        headers: mutationHeaders(immediate.headers),
        body: Buffer.from(immediate.body ?? new Uint8Array(0)).toString('utf8'),
        responses,
      };
    }
    if (first.response !== 'request_headers') {
      throw new LlmdError(
        'internal',
        `expected a request_headers response first, got ${String(first.response)}`,
      );
    }
    const common = first.request_headers?.response ?? {};
    const setHeaders = mutationHeaders(common.header_mutation);
    const bodyChunks: Buffer[] = [];
    if (hasBody) {
      for (;;) {
        const message = await this.expectNext();
        responses.push(message);
        if (message.response === 'request_trailers') break;
        if (message.response !== 'request_body') {
          throw new LlmdError('internal', `expected request_body responses, got ${String(message.response)}`);
        }
        const streamed = message.request_body?.response?.body_mutation?.streamed_response;
        bodyChunks.push(Buffer.from(streamed?.body ?? new Uint8Array(0)));
        if (streamed?.end_of_stream === true && request.trailers === undefined) break;
      }
    }
    return {
      kind: 'routed',
      destination: setHeaders[headerNames.destinationEndpoint],
      setHeaders,
      removeHeaders: [...(common.header_mutation?.remove_headers ?? [])],
      clearRouteCache: common.clear_route_cache === true,
      dynamicMetadata: fromStructMessage(first.dynamic_metadata),
      body: Buffer.concat(bodyChunks),
      bodyChunkSizes: bodyChunks.map((chunk) => chunk.length),
      responses,
    };
  }

  /**
   * Sends the upstream response (headers, body chunks, optional trailers) and reads the EPP's
   * answers: the header reply, then streamed body messages until `end_of_stream` (and the trailers
   * reply when trailers were sent).
   */
  async sendResponse(response: TestResponse): Promise<ResponsePhaseResult> {
    const chunks = response.chunks ?? [];
    const responses: ProcessingResponseMessage[] = [];
    this.sendResponseHeaders(response, chunks.length === 0 && response.trailers === undefined);
    const headersReply = await this.expectNext();
    responses.push(headersReply);
    if (headersReply.response !== 'response_headers') {
      throw new LlmdError(
        'internal',
        `expected a response_headers reply, got ${String(headersReply.response)}`,
      );
    }
    for (const [index, chunk] of chunks.entries()) {
      this.sendResponseBody(chunk, response.trailers === undefined && index === chunks.length - 1);
    }
    if (response.trailers !== undefined) this.sendResponseTrailers(response.trailers);
    const bodyChunks: Buffer[] = [];
    let bodyDone = chunks.length === 0;
    let trailersDone = response.trailers === undefined;
    while (!bodyDone || !trailersDone) {
      const message = await this.expectNext();
      responses.push(message);
      if (message.response === 'response_trailers') {
        trailersDone = true;
        bodyDone = true;
        continue;
      }
      if (message.response !== 'response_body') {
        throw new LlmdError('internal', `expected response_body replies, got ${String(message.response)}`);
      }
      const streamed = message.response_body?.response?.body_mutation?.streamed_response;
      bodyChunks.push(Buffer.from(streamed?.body ?? new Uint8Array(0)));
      if (streamed?.end_of_stream === true) bodyDone = true;
    }
    return {
      setHeaders: mutationHeaders(headersReply.response_headers?.response?.header_mutation),
      body: Buffer.concat(bodyChunks),
      bodyChunkSizes: bodyChunks.map((chunk) => chunk.length),
      responses,
    };
  }
}

export interface ExtProcTestClient {
  readonly protos: ExtProcProtos;
  /** Opens one ext_proc stream (one HTTP request). */
  openStream(): ExtProcTestStream;
  close(): void;
}

/** A gRPC client that talks to an EPP exactly like Envoy's ext_proc filter (FULL_DUPLEX_STREAMED). */
export function createExtProcTestClient(options: ExtProcTestClientOptions): ExtProcTestClient {
  const protos = options.protos ?? loadExtProcProtos();
  const credentials =
    options.tls === undefined
      ? grpc.credentials.createInsecure()
      : grpc.credentials.createSsl(
          options.tls.rootCertificatePem === undefined ? null : Buffer.from(options.tls.rootCertificatePem),
          null,
          null,
          options.tls.rejectUnauthorized === false ? { rejectUnauthorized: false } : {},
        );
  const client = new grpc.Client(options.address, credentials);
  const timeoutMilliseconds = options.timeoutMilliseconds ?? 5_000;
  const statusByName = new Map([...protos.httpStatusNames].map(([status, name]) => [name, status]));
  return {
    protos,
    openStream: () =>
      new ExtProcTestStream(
        client.makeBidiStreamRequest<ProcessingRequestMessage, ProcessingResponseMessage>(
          processPath,
          protos.encodeProcessingRequest,
          protos.decodeProcessingResponse,
        ),
        timeoutMilliseconds,
        statusByName,
      ),
    close: () => client.close(),
  };
}

function toBytes(value: Uint8Array | string): Uint8Array {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

/** Envoy's header map: lower-cased keys, values in `raw_value`. */
function headerMap(headers: Readonly<Record<string, string>>): HeaderValueMessage[] {
  return Object.entries(headers).map(([key, value]) => ({
    key: key.toLowerCase(),
    raw_value: Buffer.from(value),
  }));
}

function subsetHintMetadata(subsetHint: ReadonlyArray<string> | undefined): MetadataMessage | null {
  if (subsetHint === undefined) return null;
  return {
    filter_metadata: {
      [metadataNamespaces.subsetHint]: toStructMessage({
        [headerNames.destinationEndpointSubset]: [...subsetHint],
      }),
    },
  };
}

function servedEndpointMetadata(servedEndpoint: string | undefined): MetadataMessage | null {
  if (servedEndpoint === undefined) return null;
  return {
    filter_metadata: {
      [metadataNamespaces.loadBalancing]: toStructMessage({
        [headerNames.destinationEndpointServed]: servedEndpoint,
      }),
    },
  };
}

/** `set_headers` of a mutation as a record (values from `raw_value` or `value`). */
function mutationHeaders(mutation: HeaderMutationMessage | null | undefined): Record<string, string> {
  const { headers, pseudoHeaders } = readHeaderMap({
    headers: (mutation?.set_headers ?? []).map((option) => option.header),
  });
  return { ...pseudoHeaders, ...headers };
}

/** HTTP status from Envoy's StatusCode enum as decoded (a name, or a number for unnamed codes). */
function statusNumber(
  code: string | number | null | undefined,
  statusByName: ReadonlyMap<string, number>,
): number {
  if (typeof code === 'number') return code;
  return statusByName.get(code ?? '') ?? 0;
}
