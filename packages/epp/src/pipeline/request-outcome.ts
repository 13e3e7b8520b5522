import type { EndpointKey } from '@llmd/core';
import type { RequestTerminationCause } from '../plugin/plugin-interfaces.js';

/** llm-d's `x-llm-d-request-dropped-reason` values. */
export const dropReasons = [
  'rejected-saturated',
  'rejected-ttl-expired',
  'rejected-context-cancelled',
  'rejected-no-endpoints',
  'rejected-shutting-down',
  'evicted',
  'evicted-queue-pressure',
  'evicted-priority',
] as const;
export type DropReason = (typeof dropReasons)[number];

/** One HTTP request as a server hands it to the pipeline, transport details removed. */
export interface IncomingRequest {
  readonly method: string;
  /** Path with query, e.g. `/v1/chat/completions`. */
  readonly path: string;
  /** Header names lower-cased. Routing headers from clients are stripped by the pipeline. */
  readonly headers: Readonly<Record<string, string>>;
  /** The fully buffered body; undefined for body-less requests. */
  readonly body: Uint8Array | undefined;
  /**
   * Envoy's subset hint (`envoy.lb.subset_hint`): candidate `ip:port` values. Undefined when the
   * proxy sent no hint; an empty list means "no candidate" (503).
   */
  readonly subsetHint?: ReadonlyArray<string>;
  /** Aborted when the client (or the proxy stream) goes away. */
  readonly signal: AbortSignal;
}

/** The response phase of a routed request: feeds response plugins and restores the model name. */
export interface ResponseExchange {
  /** Call once with the upstream response status and headers; returns headers to add for the client. */
  responseHeaders(input: {
    readonly status: number;
    readonly headers: Readonly<Record<string, string>>;
    /** `ip:port` of the endpoint that served (after retries). */
    readonly servedEndpoint: string | undefined;
  }): Record<string, string>;
  /** Call per body chunk, in order; returns the chunk to send on (model name restored). */
  responseChunk(chunk: Uint8Array, endOfStream: boolean): Uint8Array;
  /** Ends the request for the plugins. Idempotent: later calls are ignored. */
  complete(cause: RequestTerminationCause): void;
}

export interface RouteOutcome {
  readonly kind: 'route';
  readonly requestId: string;
  /** Destination endpoints, primary first (the value of `x-gateway-destination-endpoint`, split). */
  readonly targets: ReadonlyArray<EndpointKey>;
  /** Headers to set on the upstream request (plugin headers such as `x-prefiller-host-port`). */
  readonly headersToSet: Readonly<Record<string, string>>;
  /** Header names the server must remove from the upstream request (client-sent routing headers). */
  readonly headersToRemove: ReadonlyArray<string>;
  /** The body to send upstream: the original bytes unless the pipeline rewrote it. */
  readonly body: Uint8Array | undefined;
  /** Per-endpoint total scores of the primary profile, for `--emit-endpoint-scores`. */
  readonly endpointScores: Readonly<Record<string, number>>;
  readonly exchange: ResponseExchange;
}

export interface RejectOutcome {
  readonly kind: 'reject';
  readonly requestId: string;
  /** HTTP status: 400, 404, 412, 413, 429, 500 or 503. */
  readonly status: number;
  readonly dropReason: DropReason | undefined;
  /** Human-readable reason, used in the body `inference error: <Code> - <message>`. */
  readonly message: string;
}

export type RequestOutcome = RouteOutcome | RejectOutcome;

/** What both servers call. */
export interface RequestPipeline {
  handle(request: IncomingRequest): Promise<RequestOutcome>;
}
