/**
 * The pool's endpoints and their latest metrics: the one place discovery writes to, the metrics
 * collector updates and the scheduler reads. States are immutable and replaced on every change, so a
 * snapshot handed to a request never changes under it.
 */
import type { Endpoint, Logger } from '@llmd/core';
import { noopLogger } from '@llmd/core';
import { type EndpointMetrics, type EndpointState, emptyEndpointMetrics } from '../plugin/endpoint-state.js';

/** Which endpoints joined and left the pool in one change. */
export interface EndpointSetChange {
  readonly added: ReadonlyArray<Endpoint>;
  readonly removed: ReadonlyArray<Endpoint>;
}

export type EndpointSetListener = (change: EndpointSetChange) => void;

export interface DatastoreOptions {
  logger?: Logger;
}

const emptyEndpoints: ReadonlyArray<Endpoint> = Object.freeze([]);

function sameLabels(
  left: Readonly<Record<string, string>>,
  right: Readonly<Record<string, string>>,
): boolean {
  if (left === right) return true;
  let count = 0;
  for (const key in left) {
    if (left[key] !== right[key]) return false;
    count++;
  }
  return count === Object.keys(right).length;
}

function sameEndpoint(left: Endpoint, right: Endpoint): boolean {
  return (
    left === right ||
    (left.key === right.key &&
      left.name === right.name &&
      left.namespace === right.namespace &&
      sameLabels(left.labels, right.labels))
  );
}

function createState(endpoint: Endpoint, metrics: EndpointMetrics): EndpointState {
  return Object.freeze({ endpoint, metrics });
}

/**
 * Holds `EndpointState` objects keyed by `ip:port`.
 *
 * Change events (`onChange`) fire only when the set of endpoints changes: an endpoint whose key is
 * reused by a differently named pod counts as removed and added (its metrics belong to the old
 * server), while a label change on the same pod replaces the endpoint silently and keeps its
 * metrics. Metric updates never fire events: they happen twenty times a second per endpoint.
 */
export class Datastore {
  readonly #states = new Map<string, EndpointState>();
  readonly #listeners = new Set<EndpointSetListener>();
  readonly #logger: Logger;
  #snapshot: ReadonlyArray<EndpointState> | undefined;
  #synced = false;
  #resolveSynced: (() => void) | undefined;
  #syncedPromise: Promise<void> | undefined;

  constructor(options: DatastoreOptions = {}) {
    this.#logger = options.logger ?? noopLogger;
  }

  get size(): number {
    return this.#states.size;
  }

  /** True once the discovery source has completed its first full listing. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Called by the discovery source after its first complete listing. Idempotent. */
  markSynced(): void {
    if (this.#synced) return;
    this.#synced = true;
    this.#resolveSynced?.();
  }

  /** Resolves once `synced` is true (immediately when it already is). */
  whenSynced(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    this.#syncedPromise ??= new Promise<void>((resolve) => {
      this.#resolveSynced = resolve;
    });
    return this.#syncedPromise;
  }

  get(key: string): EndpointState | undefined {
    return this.#states.get(key);
  }

  /**
   * Every endpoint with its latest metrics. The array is cached and rebuilt only after a change, so
   * calling this per request is O(1) in the steady state; it is frozen because callers share it.
   */
  snapshot(): ReadonlyArray<EndpointState> {
    this.#snapshot ??= Object.freeze(Array.from(this.#states.values()));
    return this.#snapshot;
  }

  /** Adds an endpoint or replaces the one with the same key. */
  upsert(endpoint: Endpoint): void {
    const added: Endpoint[] = [];
    const removed: Endpoint[] = [];
    this.#put(endpoint, added, removed);
    this.#emit(added, removed);
  }

  /** Removes the endpoint with this key; returns whether there was one. */
  remove(key: string): boolean {
    const state = this.#states.get(key);
    if (!state) return false;
    this.#states.delete(key);
    this.#snapshot = undefined;
    this.#emit(emptyEndpoints, [state.endpoint]);
    return true;
  }

  /**
   * Makes the pool exactly `endpoints` (a full listing): endpoints missing from the list are removed,
   * unchanged ones keep their metrics. Emits at most one change event.
   */
  replaceAll(endpoints: Iterable<Endpoint>): void {
    const added: Endpoint[] = [];
    const removed: Endpoint[] = [];
    const wanted = new Map<string, Endpoint>();
    for (const endpoint of endpoints) wanted.set(endpoint.key, endpoint);
    for (const [key, state] of this.#states) {
      if (wanted.has(key)) continue;
      this.#states.delete(key);
      removed.push(state.endpoint);
      this.#snapshot = undefined;
    }
    for (const endpoint of wanted.values()) this.#put(endpoint, added, removed);
    this.#emit(added, removed);
  }

  /**
   * Replaces the metrics of one endpoint (a new state object, so earlier snapshots keep the old
   * values). Returns false when the endpoint is no longer in the pool: a scrape that finished after
   * its endpoint was removed must not bring it back.
   */
  updateMetrics(key: string, metrics: EndpointMetrics): boolean {
    const state = this.#states.get(key);
    if (!state) return false;
    this.#states.set(
      key,
      createState(state.endpoint, Object.isFrozen(metrics) ? metrics : Object.freeze(metrics)),
    );
    this.#snapshot = undefined;
    return true;
  }

  /** Subscribes to set changes; returns the unsubscribe function. */
  onChange(listener: EndpointSetListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #put(endpoint: Endpoint, added: Endpoint[], removed: Endpoint[]): void {
    const existing = this.#states.get(endpoint.key);
    if (existing && sameEndpoint(existing.endpoint, endpoint)) return;
    this.#snapshot = undefined;
    if (
      existing &&
      existing.endpoint.name === endpoint.name &&
      existing.endpoint.namespace === endpoint.namespace
    ) {
      // Same server, new labels: keep what was scraped from it.
      this.#states.set(endpoint.key, createState(endpoint, existing.metrics));
      return;
    }
    if (existing) removed.push(existing.endpoint);
    this.#states.set(endpoint.key, createState(endpoint, emptyEndpointMetrics));
    added.push(endpoint);
  }

  #emit(added: ReadonlyArray<Endpoint>, removed: ReadonlyArray<Endpoint>): void {
    if (added.length === 0 && removed.length === 0) return;
    const change: EndpointSetChange = Object.freeze({
      added: Object.freeze(added),
      removed: Object.freeze(removed),
    });
    // Copy so a listener that unsubscribes (or subscribes) during dispatch does not disturb the loop.
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch (error) {
        this.#logger.error(
          { error: error instanceof Error ? error.message : String(error) },
          'endpoint change listener failed',
        );
      }
    }
  }
}
