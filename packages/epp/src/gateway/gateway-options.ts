import type { Logger } from '@llmd/core';
import { z } from 'zod';
import type { RequestPipeline } from '../pipeline/request-outcome.js';

const milliseconds = z.number().int().positive();

/** The plain-data settings of {@link GatewayOptions}, validated at the boundary. */
export const gatewaySettingsSchema = z
  .object({
    /** 0 picks a free port. */
    port: z.number().int().min(0).max(65535).default(0),
    host: z.string().min(1).default('127.0.0.1'),
    /** Request bodies over this get 413. Default 16 MiB. */
    maxBodyBytes: z
      .number()
      .int()
      .positive()
      .default(16 * 1024 * 1024),
    upstreamTimeouts: z
      .object({
        /** TCP connect to a model server. */
        connectMs: milliseconds.default(5_000),
        /**
         * Until the response headers arrive. Non-streaming completions send headers only when the
         * whole answer is generated, hence the long default.
         */
        headersMs: milliseconds.default(300_000),
        /** Longest silence between two response body chunks. */
        bodyIdleMs: milliseconds.default(300_000),
      })
      .strict()
      .prefault({}),
    /** Keep-alive connections per model-server endpoint; further requests wait in undici's queue. */
    maxConnectionsPerEndpoint: z.number().int().positive().default(256),
    /** Requests handled at once; more get 503 at once so memory stays bounded. */
    maxInFlightRequests: z.number().int().positive().default(4096),
    /** Per-endpoint timeout of the `/v1/models` fan-out. */
    modelsTimeoutMs: milliseconds.default(2_000),
    /** A client that reads nothing for this long while the gateway waits to write is disconnected. */
    clientStallMs: milliseconds.default(60_000),
    /** Time a client has to send its request headers and body (slow-loris guard). */
    clientRequestTimeoutMs: milliseconds.default(60_000),
    /** `close()` waits this long for in-flight requests before aborting them. */
    closeTimeoutMs: z.number().int().min(0).default(10_000),
  })
  .strict();

export type GatewaySettingsInput = z.input<typeof gatewaySettingsSchema>;
export type GatewaySettings = z.output<typeof gatewaySettingsSchema>;

/** An endpoint as `ip:port`, or any object that carries one in `key` (a datastore endpoint). */
export type GatewayEndpoint = string | { readonly key: string };

export interface GatewayOptions extends GatewaySettingsInput {
  /** Decides where each request goes (the EPP scheduler, or any other implementation). */
  readonly pipeline: RequestPipeline;
  /** The pool's current endpoints, asked on every `GET /v1/models`. */
  readonly endpoints: () => ReadonlyArray<GatewayEndpoint>;
  /** `GET /health` answers 200 while this returns true (default: always ready). */
  readonly isReady?: () => boolean;
  /** Serves `GET /metrics`; without it the path answers 404. */
  readonly metricsHandler?: () => Promise<{ contentType: string; body: string | Uint8Array }>;
  readonly logger?: Logger;
}
