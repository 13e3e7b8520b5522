/** Requests and tokens this EPP has in flight on one endpoint. Mutated in place by the ledger. */
export interface EndpointInFlight {
  requests: number;
  tokens: number;
}

/** What one request added to one endpoint for one scheduling profile. */
interface Contribution {
  readonly profileName: string;
  /** The counter object at the time of adding: releases go to it even if the endpoint was removed since. */
  readonly counter: EndpointInFlight;
  readonly endpointKey: string;
  tokens: number;
  holdsRequest: boolean;
}

export interface ContributionInput {
  readonly profileName: string;
  readonly endpointKey: string;
  readonly tokens: number;
}

/**
 * Per-endpoint in-flight counters plus, per request id, what that request added, so every release
 * subtracts exactly what was added and happens at most once (a second release of the same request or
 * profile finds nothing left). The per-request map is bounded: when full, the oldest request is
 * released to make room (it would otherwise leak if its completion were never reported).
 */
export class InFlightLedger {
  readonly #counters = new Map<string, EndpointInFlight>();
  readonly #byRequest = new Map<string, Contribution[]>();
  readonly #maxTrackedRequests: number;
  readonly #onEvicted: (requestId: string) => void;

  constructor(maxTrackedRequests: number, onEvicted: (requestId: string) => void = () => {}) {
    this.#maxTrackedRequests = maxTrackedRequests;
    this.#onEvicted = onEvicted;
  }

  /** Current load of an endpoint, or undefined when nothing is in flight there. */
  load(endpointKey: string): Readonly<EndpointInFlight> | undefined {
    return this.#counters.get(endpointKey);
  }

  /** Number of requests with contributions still recorded. */
  get trackedRequests(): number {
    return this.#byRequest.size;
  }

  /**
   * Records a request's contributions (one request and some tokens per endpoint). A request recorded
   * again (scheduled twice) first releases its earlier contributions so nothing is counted twice.
   */
  add(requestId: string, contributions: ReadonlyArray<ContributionInput>): void {
    if (this.#byRequest.has(requestId)) this.releaseAll(requestId);
    const recorded: Contribution[] = [];
    for (const { profileName, endpointKey, tokens } of contributions) {
      let counter = this.#counters.get(endpointKey);
      if (!counter) {
        counter = { requests: 0, tokens: 0 };
        this.#counters.set(endpointKey, counter);
      }
      counter.requests += 1;
      counter.tokens += tokens;
      recorded.push({ profileName, counter, endpointKey, tokens, holdsRequest: true });
    }
    if (recorded.length === 0) return;
    this.#byRequest.set(requestId, recorded);
    while (this.#byRequest.size > this.#maxTrackedRequests) {
      const oldest = this.#byRequest.keys().next().value as string;
      this.releaseAll(oldest);
      this.#onEvicted(oldest);
    }
  }

  /** Releases the token part of the request's contributions (all profiles, or one). */
  releaseTokens(requestId: string, profileName?: string): void {
    const contributions = this.#byRequest.get(requestId);
    if (!contributions) return;
    for (const contribution of contributions) {
      if (profileName !== undefined && contribution.profileName !== profileName) continue;
      this.#releaseTokensOf(contribution);
    }
  }

  /** Releases the request and tokens that one profile's target holds for this request. */
  releaseProfile(requestId: string, profileName: string): void {
    const contributions = this.#byRequest.get(requestId);
    if (!contributions) return;
    for (const contribution of contributions) {
      if (contribution.profileName !== profileName) continue;
      this.#releaseTokensOf(contribution);
      this.#releaseRequestOf(contribution);
    }
  }

  /** Releases everything the request still holds and forgets it. Idempotent. */
  releaseAll(requestId: string): void {
    const contributions = this.#byRequest.get(requestId);
    if (!contributions) return;
    this.#byRequest.delete(requestId);
    for (const contribution of contributions) {
      this.#releaseTokensOf(contribution);
      this.#releaseRequestOf(contribution);
    }
  }

  /**
   * Forgets an endpoint that left the pool. Requests still in flight there keep a reference to the
   * detached counter, so their later release cannot push a re-added endpoint's counters negative.
   */
  removeEndpoint(endpointKey: string): void {
    this.#counters.delete(endpointKey);
  }

  #releaseTokensOf(contribution: Contribution): void {
    if (contribution.tokens === 0) return;
    contribution.counter.tokens -= contribution.tokens;
    contribution.tokens = 0;
    this.#dropIfIdle(contribution);
  }

  #releaseRequestOf(contribution: Contribution): void {
    if (!contribution.holdsRequest) return;
    contribution.counter.requests -= 1;
    contribution.holdsRequest = false;
    this.#dropIfIdle(contribution);
  }

  /** Idle counters are removed so the map only holds endpoints with work in flight. */
  #dropIfIdle(contribution: Contribution): void {
    const { counter, endpointKey } = contribution;
    if (counter.requests === 0 && counter.tokens === 0 && this.#counters.get(endpointKey) === counter) {
      this.#counters.delete(endpointKey);
    }
  }
}
