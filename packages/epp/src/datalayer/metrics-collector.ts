/**
 * Polls every endpoint's Prometheus endpoint (`<scheme>://<ip>:<port><path>`) and writes what it
 * extracts into the datastore, the way llm-d's metrics data source does (50 ms tick, 1 s timeout).
 *
 * Built to stay cheap at 100 endpoints × 20 polls a second (llm-d spends ~7.5 cores there):
 * - one shared interval drives every endpoint instead of a timer per endpoint or per request;
 *   request timeouts are enforced from that tick, so no timer is armed per poll;
 * - one undici `Agent` keeps a single keep-alive connection per endpoint (polls never overlap);
 * - requests go through undici's low-level `dispatch` with a handler that gathers raw chunks, which
 *   skips the stream and promise machinery of `request`/`fetch`;
 * - the parser is given the handful of metric names the endpoint's engine needs and skips the rest.
 *
 * A failed poll keeps the endpoint's last metrics; consumers judge freshness by `updateTime`.
 */
import { readFile } from 'node:fs/promises';
import type { EndpointKey, Logger } from '@llmd/core';
import { type Endpoint, InvalidArgumentError, noopLogger } from '@llmd/core';
import { Agent, type Dispatcher } from 'undici';
import type { Datastore, EndpointSetChange } from './datastore.js';
import {
  type EngineMetricMapping,
  EngineMetricMappings,
  extractEndpointMetrics,
} from './engine-metric-mappings.js';
import { parsePrometheusText } from './prometheus-text-parser.js';

export const minimumRefreshIntervalMilliseconds = 50;

export interface MetricsCollectorTlsOptions {
  /** Skip server certificate verification (llm-d's default: model servers use self-signed certs). */
  insecureSkipVerify?: boolean;
  caCertPath?: string;
  clientCertPath?: string;
  clientKeyPath?: string;
}

export interface MetricsCollectorOptions {
  datastore: Datastore;
  /** Poll period per endpoint. Default and minimum 50 ms. */
  refreshIntervalMilliseconds?: number;
  /** Per-poll timeout (connect, headers and body together). Default 1000 ms. */
  timeoutMilliseconds?: number;
  scheme?: 'http' | 'https';
  /** Default `/metrics` (trtllm-serve serves `/prometheus/metrics`). */
  path?: string;
  tls?: MetricsCollectorTlsOptions;
  /** Engine mappings; default: the built-in engines. */
  mappings?: EngineMetricMappings;
  /** Largest accepted response body. Default 16 MiB. */
  maximumBodyBytes?: number;
  /** Clock for `updateTime` (milliseconds since the epoch). Default `Date.now`. */
  now?: () => number;
  /** An HTTP dispatcher to use instead of the collector's own keep-alive agent (not closed by `stop`). */
  dispatcher?: Dispatcher;
  logger?: Logger;
}

export interface EndpointScrapeStats {
  readonly successes: number;
  readonly failures: number;
  readonly consecutiveFailures: number;
  readonly lastError: string | undefined;
}

export interface MetricsCollectorStats {
  /** Endpoints being polled. */
  readonly endpoints: number;
  readonly inFlight: number;
  readonly polls: number;
  readonly successes: number;
  /** Connection errors, non-200 statuses, timeouts and oversized bodies. */
  readonly failures: number;
  readonly timeouts: number;
  /** Successful polls whose exposition lacked an enabled queue/running/KV metric. */
  readonly missingMetrics: number;
  readonly perEndpoint: ReadonlyMap<string, EndpointScrapeStats>;
}

class ScrapeFailure extends Error {
  constructor(
    message: string,
    readonly timedOut = false,
  ) {
    super(message);
    this.name = 'ScrapeFailure';
  }
}

interface PollTarget {
  readonly key: EndpointKey;
  readonly origin: string;
  endpoint: Endpoint;
  mapping: EngineMetricMapping;
  removed: boolean;
  /** Set while a poll is in flight: what aborts it. */
  handler: ScrapeHandler | undefined;
  startedAt: number;
  successes: number;
  failures: number;
  consecutiveFailures: number;
  lastError: string | undefined;
}

/** Gathers one response: raw chunks in, one callback out. */
class ScrapeHandler implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined;
  #pendingAbort: Error | undefined;
  #statusCode = 0;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #done = false;

  constructor(
    private readonly maximumBodyBytes: number,
    private readonly finish: (error: Error | undefined, statusCode: number, body: string) => void,
  ) {}

  abort(reason: Error): void {
    if (this.#done) return;
    if (this.#controller) this.#controller.abort(reason);
    else this.#pendingAbort = reason;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#pendingAbort) controller.abort(this.#pendingAbort);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.#statusCode = statusCode;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (this.#bytes > this.maximumBodyBytes) {
      controller.abort(new ScrapeFailure(`metrics body larger than ${this.maximumBodyBytes} bytes`));
      return;
    }
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.#done) return;
    this.#done = true;
    const chunks = this.#chunks;
    this.#chunks = [];
    const body =
      chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
    this.finish(undefined, this.#statusCode, body);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#chunks = [];
    this.finish(error, this.#statusCode, '');
  }
}

export class MetricsCollector {
  readonly #datastore: Datastore;
  readonly #intervalMilliseconds: number;
  readonly #timeoutMilliseconds: number;
  readonly #scheme: 'http' | 'https';
  readonly #path: string;
  readonly #tls: MetricsCollectorTlsOptions;
  readonly #mappings: EngineMetricMappings;
  readonly #maximumBodyBytes: number;
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #ownsDispatcher: boolean;
  #dispatcher: Dispatcher | undefined;
  readonly #targets = new Map<EndpointKey, PollTarget>();
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #inFlight = 0;
  #idleWaiters: Array<() => void> = [];
  #polls = 0;
  #successes = 0;
  #failures = 0;
  #timeouts = 0;
  #missingMetrics = 0;

  constructor(options: MetricsCollectorOptions) {
    const interval = options.refreshIntervalMilliseconds ?? minimumRefreshIntervalMilliseconds;
    if (!Number.isFinite(interval) || interval < minimumRefreshIntervalMilliseconds) {
      throw new InvalidArgumentError(
        `refreshIntervalMilliseconds must be at least ${minimumRefreshIntervalMilliseconds}, got ${interval}`,
        { path: 'refreshIntervalMilliseconds' },
      );
    }
    const timeout = options.timeoutMilliseconds ?? 1000;
    if (!Number.isFinite(timeout) || timeout <= 0) {
      throw new InvalidArgumentError(`timeoutMilliseconds must be positive, got ${timeout}`, {
        path: 'timeoutMilliseconds',
      });
    }
    const path = options.path ?? '/metrics';
    if (!path.startsWith('/')) {
      throw new InvalidArgumentError(`metrics path must start with "/", got "${path}"`, { path: 'path' });
    }
    this.#datastore = options.datastore;
    this.#intervalMilliseconds = interval;
    this.#timeoutMilliseconds = timeout;
    this.#scheme = options.scheme ?? 'http';
    this.#path = path;
    this.#tls = options.tls ?? {};
    this.#mappings = options.mappings ?? new EngineMetricMappings();
    this.#maximumBodyBytes = options.maximumBodyBytes ?? 16 * 1024 * 1024;
    this.#now = options.now ?? Date.now;
    this.#logger = (options.logger ?? noopLogger).child({ component: 'metrics-collector' });
    this.#dispatcher = options.dispatcher;
    this.#ownsDispatcher = options.dispatcher === undefined;
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Starts polling every endpoint now in the datastore, and endpoints as they join. */
  async start(): Promise<void> {
    if (this.#timer) return;
    if (!this.#dispatcher) this.#dispatcher = await this.#createAgent();
    this.#unsubscribe = this.#datastore.onChange((change) => this.#onEndpointsChanged(change));
    for (const state of this.#datastore.snapshot()) this.#addTarget(state.endpoint);
    this.#timer = setInterval(() => this.#tick(), this.#intervalMilliseconds);
    // A background poller must not keep a process alive on its own.
    this.#timer.unref();
    this.#tick();
  }

  /** Stops polling, aborts polls in flight and waits for them to settle. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    for (const target of this.#targets.values()) this.#removeTarget(target);
    this.#targets.clear();
    // Destroying our agent first also fails polls still waiting for a connection, which an abort
    // cannot reach before the request is on a socket.
    if (this.#ownsDispatcher && this.#dispatcher) {
      const dispatcher = this.#dispatcher;
      this.#dispatcher = undefined;
      await dispatcher.destroy();
    }
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  stats(): MetricsCollectorStats {
    const perEndpoint = new Map<string, EndpointScrapeStats>();
    for (const target of this.#targets.values()) {
      perEndpoint.set(target.key, {
        successes: target.successes,
        failures: target.failures,
        consecutiveFailures: target.consecutiveFailures,
        lastError: target.lastError,
      });
    }
    return {
      endpoints: this.#targets.size,
      inFlight: this.#inFlight,
      polls: this.#polls,
      successes: this.#successes,
      failures: this.#failures,
      timeouts: this.#timeouts,
      missingMetrics: this.#missingMetrics,
      perEndpoint,
    };
  }

  async #createAgent(): Promise<Agent> {
    const tls = this.#tls;
    const [ca, cert, key] = await Promise.all(
      [tls.caCertPath, tls.clientCertPath, tls.clientKeyPath].map((file) =>
        file === undefined ? undefined : readFile(file),
      ),
    );
    return new Agent({
      connections: 1,
      pipelining: 1,
      // Longer than any poll period, so the connection stays open between polls.
      keepAliveTimeout: Math.max(30_000, this.#intervalMilliseconds * 4),
      keepAliveMaxTimeout: Math.max(60_000, this.#intervalMilliseconds * 8),
      connect: {
        timeout: this.#timeoutMilliseconds,
        rejectUnauthorized: !(tls.insecureSkipVerify ?? true),
        ...(ca ? { ca } : {}),
        ...(cert ? { cert } : {}),
        ...(key ? { key } : {}),
      },
    });
  }

  #onEndpointsChanged(change: EndpointSetChange): void {
    for (const endpoint of change.removed) {
      const target = this.#targets.get(endpoint.key);
      if (target && target.endpoint.name === endpoint.name) {
        this.#removeTarget(target);
        this.#targets.delete(endpoint.key);
      }
    }
    for (const endpoint of change.added) {
      const target = this.#addTarget(endpoint);
      // Poll a new endpoint at once rather than up to one interval later.
      if (target && this.#timer) this.#poll(target);
    }
  }

  #addTarget(endpoint: Endpoint): PollTarget | undefined {
    if (this.#targets.has(endpoint.key)) return undefined;
    const target: PollTarget = {
      key: endpoint.key,
      origin: `${this.#scheme}://${endpoint.key}`,
      endpoint,
      mapping: this.#mappings.forEndpoint(endpoint),
      removed: false,
      handler: undefined,
      startedAt: 0,
      successes: 0,
      failures: 0,
      consecutiveFailures: 0,
      lastError: undefined,
    };
    this.#targets.set(endpoint.key, target);
    return target;
  }

  #removeTarget(target: PollTarget): void {
    target.removed = true;
    target.handler?.abort(new ScrapeFailure('endpoint removed'));
  }

  #tick(): void {
    const now = performance.now();
    for (const target of this.#targets.values()) {
      if (target.handler) {
        if (now - target.startedAt > this.#timeoutMilliseconds) {
          target.handler.abort(new ScrapeFailure(`no response within ${this.#timeoutMilliseconds} ms`, true));
        }
        continue;
      }
      this.#poll(target);
    }
  }

  #poll(target: PollTarget): void {
    const dispatcher = this.#dispatcher;
    if (target.handler || target.removed || !dispatcher) return;
    const handler = new ScrapeHandler(this.#maximumBodyBytes, (error, statusCode, body) =>
      this.#complete(target, error, statusCode, body),
    );
    target.handler = handler;
    target.startedAt = performance.now();
    this.#inFlight++;
    this.#polls++;
    // Timeouts come from the tick. Only when the tick is slower than the timeout does undici arm its
    // own (per-request) timers as well.
    const undiciTimeout =
      this.#intervalMilliseconds > this.#timeoutMilliseconds ? this.#timeoutMilliseconds : 0;
    try {
      dispatcher.dispatch(
        {
          origin: target.origin,
          path: this.#path,
          method: 'GET',
          headers: { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' },
          headersTimeout: undiciTimeout,
          bodyTimeout: undiciTimeout,
        },
        handler,
      );
    } catch (error) {
      this.#complete(target, error as Error, 0, '');
    }
  }

  #complete(target: PollTarget, error: Error | undefined, statusCode: number, body: string): void {
    target.handler = undefined;
    this.#inFlight--;
    try {
      if (target.removed) return;
      if (!error && statusCode !== 200)
        error = new ScrapeFailure(`metrics endpoint answered HTTP ${statusCode}`);
      if (error) {
        this.#recordFailure(target, error);
        return;
      }
      const state = this.#datastore.get(target.key);
      if (!state) return;
      if (state.endpoint !== target.endpoint) {
        // Labels changed in place (same pod): the engine, and so the mapping, may have changed too.
        target.endpoint = state.endpoint;
        target.mapping = this.#mappings.forEndpoint(state.endpoint);
      }
      const samples = parsePrometheusText(body, target.mapping.wantedNames);
      const extraction = extractEndpointMetrics(target.mapping, samples, state.metrics, this.#now());
      this.#datastore.updateMetrics(target.key, extraction.metrics);
      this.#successes++;
      target.successes++;
      if (target.consecutiveFailures > 0) {
        this.#logger.info(
          { endpoint: target.key, failures: target.consecutiveFailures },
          'metrics scraping recovered',
        );
      }
      target.consecutiveFailures = 0;
      if (extraction.missing.length > 0) {
        this.#missingMetrics++;
        // Once per endpoint, not twenty times a second.
        if (target.successes === 1) {
          this.#logger.warn(
            { endpoint: target.key, engine: target.mapping.name, missing: extraction.missing },
            'model server does not expose metrics its engine mapping expects',
          );
        }
      }
    } finally {
      if (this.#inFlight === 0 && this.#idleWaiters.length > 0) {
        for (const resolve of this.#idleWaiters.splice(0)) resolve();
      }
    }
  }

  #recordFailure(target: PollTarget, error: Error): void {
    this.#failures++;
    target.failures++;
    target.consecutiveFailures++;
    const timedOut = error instanceof ScrapeFailure && error.timedOut;
    if (timedOut) this.#timeouts++;
    target.lastError = error.message;
    // Log the transition to failing, not every failed poll.
    if (target.consecutiveFailures === 1) {
      this.#logger.warn(
        { endpoint: target.key, error: error.message },
        'metrics scraping failed; keeping last metrics',
      );
    }
  }
}
