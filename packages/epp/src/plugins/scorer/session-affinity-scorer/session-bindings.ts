interface Binding {
  readonly endpointKey: string;
  readonly lastSeen: number;
}

export interface SessionBindingsOptions {
  /** A binding unused for longer than this is forgotten. */
  readonly ttlMilliseconds: number;
  /** Expired bindings are swept at most this often (lookups also expire lazily). */
  readonly sweepIntervalMilliseconds: number;
  /** Bound on the number of sessions; the least recently used is dropped beyond it. */
  readonly maxSessions: number;
}

/**
 * Server-side session → endpoint bindings with a TTL, LRU-bounded, plus how many sessions each
 * endpoint holds (new sessions go to the least-bound endpoint). Time comes from the caller so tests
 * are deterministic and no timer has to be cleaned up.
 */
export class SessionBindings {
  /** Insertion order is last-use order: refreshing a binding re-inserts it at the end. */
  readonly #bindings = new Map<string, Binding>();
  readonly #sessionsPerEndpoint = new Map<string, number>();
  readonly #options: SessionBindingsOptions;
  #lastSweep = Number.NEGATIVE_INFINITY;

  constructor(options: SessionBindingsOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#bindings.size;
  }

  /** The endpoint key the session is bound to, if the binding has not expired. */
  boundEndpoint(sessionId: string, now: number): string | undefined {
    this.#sweepIfDue(now);
    const binding = this.#bindings.get(sessionId);
    if (!binding) return undefined;
    if (now - binding.lastSeen > this.#options.ttlMilliseconds) {
      this.#remove(sessionId, binding);
      return undefined;
    }
    return binding.endpointKey;
  }

  /** How many live sessions are bound to the endpoint. */
  sessionCount(endpointKey: string): number {
    return this.#sessionsPerEndpoint.get(endpointKey) ?? 0;
  }

  /** Binds (or re-binds, or refreshes) a session to an endpoint at time `now`. */
  bind(sessionId: string, endpointKey: string, now: number): void {
    const existing = this.#bindings.get(sessionId);
    if (existing) {
      this.#bindings.delete(sessionId);
      if (existing.endpointKey !== endpointKey) {
        this.#adjustCount(existing.endpointKey, -1);
        this.#adjustCount(endpointKey, 1);
      }
    } else {
      this.#adjustCount(endpointKey, 1);
    }
    this.#bindings.set(sessionId, { endpointKey, lastSeen: now });
    while (this.#bindings.size > this.#options.maxSessions) {
      const [oldestId, oldest] = this.#bindings.entries().next().value as [string, Binding];
      this.#remove(oldestId, oldest);
    }
  }

  #sweepIfDue(now: number): void {
    if (now - this.#lastSweep < this.#options.sweepIntervalMilliseconds) return;
    this.#lastSweep = now;
    // Oldest first: stop at the first binding still alive, everything after it was used later.
    for (const [sessionId, binding] of this.#bindings) {
      if (now - binding.lastSeen <= this.#options.ttlMilliseconds) break;
      this.#remove(sessionId, binding);
    }
  }

  #remove(sessionId: string, binding: Binding): void {
    this.#bindings.delete(sessionId);
    this.#adjustCount(binding.endpointKey, -1);
  }

  #adjustCount(endpointKey: string, delta: number): void {
    const count = (this.#sessionsPerEndpoint.get(endpointKey) ?? 0) + delta;
    if (count <= 0) this.#sessionsPerEndpoint.delete(endpointKey);
    else this.#sessionsPerEndpoint.set(endpointKey, count);
  }
}
