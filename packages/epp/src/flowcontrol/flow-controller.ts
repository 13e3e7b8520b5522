import { type Logger, noopLogger } from '@llmd/core';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import type { DropReason } from '../pipeline/request-outcome.js';
import { createFcfsOrderingPolicy } from '../plugins/flow-control/fcfs-ordering-policy/fcfs-ordering-policy.js';
import { createGlobalStrictFairnessPolicy } from '../plugins/flow-control/global-strict-fairness-policy/global-strict-fairness-policy.js';
import { createStaticUsageLimitPolicy } from '../plugins/flow-control/static-usage-limit-policy/static-usage-limit-policy.js';
import type {
  FairnessPolicy,
  FlowQueueView,
  OrderingPolicy,
  PriorityBandView,
  QueuedRequestView,
  UsageLimitPolicy,
} from './flow-control-policies.js';
import { type HeapItem, IndexedHeap } from './indexed-heap.js';

/** llm-d's per-band capacity defaults. */
export const defaultBandMaxBytes = 1_000_000_000;
export const defaultBandMaxRequests = 5000;
/** llm-d's `defaultRequestTTL`. */
export const defaultRequestTTLMilliseconds = 60_000;
export const defaultMaxDispatchesPerCycle = 16;
export const defaultCycleIntervalMilliseconds = 10;

/** One request asking to be admitted. */
export interface FlowRequest {
  readonly requestId: string;
  /** InferenceObjective priority: higher is more important, negative is sheddable. */
  readonly priority: number;
  readonly fairnessId: string;
  /** Body size; counts against the byte capacities. */
  readonly byteSize: number;
  /** When the request arrived (the controller's clock). */
  readonly receivedAt: number;
  /** Absolute TTFT deadline (see `sloDeadlineFromHeaders`), for deadline-aware ordering. */
  readonly sloDeadline?: number;
  /** Aborted when the client goes away: the request leaves the queue with 503. */
  readonly signal?: AbortSignal;
}

export type FlowDecision =
  | { readonly dispatched: true; readonly queuedMilliseconds: number }
  | {
      readonly dispatched: false;
      readonly status: 429 | 503;
      readonly dropReason: DropReason;
      readonly message: string;
    };

/** A band's settings; omitted (or 0) capacities take llm-d's defaults, omitted policies the defaults. */
export interface PriorityBandSettings {
  readonly maxBytes?: number;
  readonly maxRequests?: number;
  readonly fairness?: FairnessPolicy;
  readonly ordering?: OrderingPolicy;
}

export interface FlowControllerTimers {
  setTimeout(callback: () => void, milliseconds: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface FlowControllerOptions {
  /** Pool saturation (≥ 1 saturated), read once per dispatch cycle. */
  readonly saturation: () => number;
  /** Whether the pool has endpoints; with none nothing dispatches (scale from zero). */
  readonly hasEndpoints: () => boolean;
  /** Explicitly configured bands. */
  readonly bands?: ReadonlyArray<PriorityBandSettings & { readonly priority: number }>;
  /** Template for unlisted priorities ≥ 0 (and < 0 when `negativeBandTemplate` is absent). */
  readonly bandTemplate?: PriorityBandSettings;
  readonly negativeBandTemplate?: PriorityBandSettings;
  readonly usageLimit?: UsageLimitPolicy;
  /** Global capacity over all bands; undefined or 0 means unlimited. */
  readonly maxBytes?: number;
  readonly maxRequests?: number;
  /** Queue-wait budget while the pool has endpoints; 0 disables expiry. Default 60 s. */
  readonly defaultRequestTTLMilliseconds?: number;
  /** Queue-wait budget while the pool is empty; defaults to `defaultRequestTTLMilliseconds`. */
  readonly noEndpointRequestTTLMilliseconds?: number;
  /**
   * Dispatched requests the saturation signal does not reflect yet (for example: dispatched and
   * not yet through pre-request hooks, or dispatched since the last metrics scrape). When given,
   * `maxDispatchesPerCycle` bounds these plus the cycle's own dispatches.
   */
  readonly dispatchedInFlight?: () => number;
  /** Most requests one dispatch cycle releases. Default 16. */
  readonly maxDispatchesPerCycle?: number;
  /** Period of the safety-net cycle that runs while anything is queued. Default 10 ms. */
  readonly cycleIntervalMilliseconds?: number;
  readonly now?: () => number;
  readonly timers?: FlowControllerTimers;
  readonly logger?: Logger;
}

export interface FlowControlBandStats {
  readonly priority: number;
  readonly queuedRequests: number;
  readonly queuedBytes: number;
  /** Non-empty flows (fairness ids) in the band. */
  readonly flows: number;
}

export interface FlowControlStats {
  readonly queuedRequests: number;
  readonly queuedBytes: number;
  /** Configured bands always, dynamically created ones while they hold requests; highest priority first. */
  readonly bands: ReadonlyArray<FlowControlBandStats>;
}

class QueuedRequest implements QueuedRequestView, HeapItem {
  heapIndex = -1;
  readonly requestId: string;
  readonly priority: number;
  readonly fairnessId: string;
  readonly byteSize: number;
  readonly receivedAt: number;
  readonly sloDeadline: number | undefined;

  constructor(
    request: FlowRequest,
    byteSize: number,
    readonly enqueuedAt: number,
    readonly sequence: number,
    readonly ttlDeadline: number | undefined,
    readonly flow: FlowQueue,
    readonly settle: (decision: FlowDecision) => void,
    readonly signal: AbortSignal | undefined,
  ) {
    this.requestId = request.requestId;
    this.priority = request.priority;
    this.fairnessId = request.fairnessId;
    this.byteSize = byteSize;
    this.receivedAt = request.receivedAt;
    this.sloDeadline = request.sloDeadline;
  }

  onAbort: (() => void) | undefined;
}

class FlowQueue implements FlowQueueView {
  readonly heap: IndexedHeap<QueuedRequest>;
  byteSize = 0;

  constructor(
    readonly fairnessId: string,
    readonly band: PriorityBand,
  ) {
    this.heap = new IndexedHeap((a, b) => band.ordering.compareRequests(a, b));
  }

  get priority(): number {
    return this.band.priority;
  }

  get length(): number {
    return this.heap.size;
  }

  peek(): QueuedRequestView | undefined {
    return this.heap.peek();
  }
}

class PriorityBand implements PriorityBandView {
  readonly flows = new Map<string, FlowQueue>();
  readonly fairnessState: unknown;
  queuedRequests = 0;
  queuedBytes = 0;

  constructor(
    readonly priority: number,
    readonly maxBytes: number,
    readonly maxRequests: number,
    readonly fairness: FairnessPolicy,
    readonly ordering: OrderingPolicy,
    /** Created from a template for an unlisted priority: dropped again when it empties. */
    readonly dynamic: boolean,
  ) {
    this.fairnessState = fairness.newBandState?.();
  }
}

const defaultTimers: FlowControllerTimers = {
  setTimeout: (callback, milliseconds) => {
    const handle = setTimeout(callback, milliseconds);
    // The safety-net cycle must not keep a process alive on its own.
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

const positiveOr = (value: number | undefined, fallback: number): number =>
  value !== undefined && value > 0 ? value : fallback;

/**
 * llm-d's flow-control layer: requests wait here until the pool has room for them. Requests are
 * grouped into flows `{fairnessId, priority}` inside priority bands. Each dispatch cycle visits
 * bands from the highest priority down; a band whose usage-limit ceiling the pool's saturation
 * has reached blocks itself *and every lower band* (head-of-line blocking, so a lower priority can
 * never overtake a waiting higher one); inside a band the fairness policy picks the flow and the
 * ordering policy the request. Requests leave with a {@link FlowDecision}: dispatched, or rejected
 * with the status and drop reason llm-d sends.
 *
 * Cycles run on `enqueue`, on `notify()` (the pipeline calls it when a request completes or metrics
 * refresh) and on a short unref'd timer while anything is queued (TTL expiry and saturation that
 * drops without a notification). Saturation comes from metrics that lag dispatches, so one cycle
 * releases at most `maxDispatchesPerCycle` requests; with a `dispatchedInFlight` signal the bound
 * covers every dispatch the saturation signal has not observed yet.
 *
 * Memory is bounded by the per-band capacities: empty flows and empty template-created bands are
 * removed at once, and requests leave their queue the moment they expire or are cancelled.
 */
export class FlowController {
  readonly #options: FlowControllerOptions;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #timers: FlowControllerTimers;
  readonly #bands = new Map<number, PriorityBand>();
  /** Bands by priority, highest first. */
  #bandOrder: PriorityBand[] = [];
  readonly #bandTemplate: Required<PriorityBandSettings>;
  readonly #negativeBandTemplate: Required<PriorityBandSettings>;
  readonly #usageLimit: UsageLimitPolicy;
  readonly #maxBytes: number;
  readonly #maxRequests: number;
  readonly #defaultTTL: number;
  readonly #noEndpointTTL: number;
  readonly #maxDispatchesPerCycle: number;
  readonly #cycleInterval: number;
  /** Every queued request in enqueue order, so TTL expiry only looks at the oldest. */
  readonly #queued = new Map<number, QueuedRequest>();
  #queuedBytes = 0;
  #sequence = 0;
  #timer: unknown;
  #closed = false;
  #cycling = false;
  #cycleRequested = false;
  /** When the pool last went from empty to non-empty; the endpoint TTL counts from here at the earliest. */
  #endpointsSince = Number.NEGATIVE_INFINITY;
  #hadEndpoints = true;

  constructor(options: FlowControllerOptions) {
    this.#options = options;
    this.#logger = options.logger ?? noopLogger;
    this.#now = options.now ?? Date.now;
    this.#timers = options.timers ?? defaultTimers;
    const defaultFairness = createGlobalStrictFairnessPolicy();
    const defaultOrdering = createFcfsOrderingPolicy();
    const resolveTemplate = (settings: PriorityBandSettings | undefined): Required<PriorityBandSettings> => ({
      maxBytes: positiveOr(settings?.maxBytes, defaultBandMaxBytes),
      maxRequests: positiveOr(settings?.maxRequests, defaultBandMaxRequests),
      fairness: settings?.fairness ?? defaultFairness,
      ordering: settings?.ordering ?? defaultOrdering,
    });
    this.#bandTemplate = resolveTemplate(options.bandTemplate);
    this.#negativeBandTemplate = options.negativeBandTemplate
      ? resolveTemplate(options.negativeBandTemplate)
      : this.#bandTemplate;
    for (const band of options.bands ?? []) {
      if (this.#bands.has(band.priority)) {
        throw new InvalidConfigError(`flow control: priority band ${band.priority} is configured twice`);
      }
      const settings = resolveTemplate(band);
      this.#addBand(
        new PriorityBand(
          band.priority,
          settings.maxBytes,
          settings.maxRequests,
          settings.fairness,
          settings.ordering,
          false,
        ),
      );
    }
    this.#usageLimit = options.usageLimit ?? createStaticUsageLimitPolicy();
    this.#maxBytes = positiveOr(options.maxBytes, Number.POSITIVE_INFINITY);
    this.#maxRequests = positiveOr(options.maxRequests, Number.POSITIVE_INFINITY);
    this.#defaultTTL = Math.max(0, options.defaultRequestTTLMilliseconds ?? defaultRequestTTLMilliseconds);
    this.#noEndpointTTL = Math.max(0, options.noEndpointRequestTTLMilliseconds ?? this.#defaultTTL);
    this.#maxDispatchesPerCycle = Math.max(1, options.maxDispatchesPerCycle ?? defaultMaxDispatchesPerCycle);
    this.#cycleInterval = Math.max(1, options.cycleIntervalMilliseconds ?? defaultCycleIntervalMilliseconds);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Queues a request and resolves once it is dispatched or rejected. Capacity rejections resolve
   * at once; the request may also be dispatched within this call's own cycle.
   */
  enqueue(request: FlowRequest): Promise<FlowDecision> {
    if (this.#closed) return Promise.resolve(shuttingDown());
    if (request.signal?.aborted) return Promise.resolve(cancelled());
    const byteSize = Number.isFinite(request.byteSize) && request.byteSize > 0 ? request.byteSize : 0;
    const band = this.#bandFor(request.priority);
    const rejection = this.#capacityRejection(band, byteSize);
    if (rejection !== undefined) {
      this.#dropIfUnused(band);
      this.#logger.debug({ requestId: request.requestId, priority: request.priority }, rejection);
      return Promise.resolve({
        dispatched: false,
        status: 429,
        dropReason: 'rejected-saturated',
        message: rejection,
      });
    }

    const enqueuedAt = this.#now();
    let flow = band.flows.get(request.fairnessId);
    if (!flow) {
      flow = new FlowQueue(request.fairnessId, band);
      band.flows.set(request.fairnessId, flow);
    }
    let settle!: (decision: FlowDecision) => void;
    const decided = new Promise<FlowDecision>((resolve) => {
      settle = resolve;
    });
    const sequence = ++this.#sequence;
    const ttlDeadline = this.#defaultTTL > 0 ? request.receivedAt + this.#defaultTTL : undefined;
    const item = new QueuedRequest(
      request,
      byteSize,
      enqueuedAt,
      sequence,
      ttlDeadline,
      flow,
      settle,
      request.signal,
    );
    flow.heap.push(item);
    flow.byteSize += byteSize;
    band.queuedRequests += 1;
    band.queuedBytes += byteSize;
    this.#queued.set(sequence, item);
    this.#queuedBytes += byteSize;
    if (request.signal) {
      item.onAbort = () => this.#finish(item, cancelled());
      request.signal.addEventListener('abort', item.onAbort, { once: true });
    }
    this.#runCycle();
    return decided;
  }

  /** Runs a dispatch cycle now: call when a request completes or endpoint metrics refresh. */
  notify(): void {
    if (this.#queued.size > 0) this.#runCycle();
  }

  stats(): FlowControlStats {
    return {
      queuedRequests: this.#queued.size,
      queuedBytes: this.#queuedBytes,
      bands: this.#bandOrder.map((band) => ({
        priority: band.priority,
        queuedRequests: band.queuedRequests,
        queuedBytes: band.queuedBytes,
        flows: band.flows.size,
      })),
    };
  }

  /** Rejects everything queued with 503 `rejected-shutting-down`, and every later request. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopTimer();
    for (const item of this.#queued.values()) this.#finish(item, shuttingDown());
  }

  #bandFor(priority: number): PriorityBand {
    const existing = this.#bands.get(priority);
    if (existing) return existing;
    const template = priority < 0 ? this.#negativeBandTemplate : this.#bandTemplate;
    const band = new PriorityBand(
      priority,
      template.maxBytes,
      template.maxRequests,
      template.fairness,
      template.ordering,
      true,
    );
    this.#addBand(band);
    return band;
  }

  #addBand(band: PriorityBand): void {
    this.#bands.set(band.priority, band);
    const order = this.#bandOrder;
    let index = 0;
    while (index < order.length && (order[index] as PriorityBand).priority > band.priority) index++;
    order.splice(index, 0, band);
  }

  #dropIfUnused(band: PriorityBand): void {
    if (!band.dynamic || band.queuedRequests > 0) return;
    this.#bands.delete(band.priority);
    this.#bandOrder = this.#bandOrder.filter((candidate) => candidate !== band);
  }

  #capacityRejection(band: PriorityBand, byteSize: number): string | undefined {
    if (band.queuedRequests + 1 > band.maxRequests) {
      return `flow control: priority band ${band.priority} is full (maxRequests ${band.maxRequests})`;
    }
    if (band.queuedBytes + byteSize > band.maxBytes) {
      return `flow control: priority band ${band.priority} is full (maxBytes ${band.maxBytes})`;
    }
    if (this.#queued.size + 1 > this.#maxRequests) {
      return `flow control: queue is full (maxRequests ${this.#maxRequests})`;
    }
    if (this.#queuedBytes + byteSize > this.#maxBytes)
      return `flow control: queue is full (maxBytes ${this.#maxBytes})`;
    return undefined;
  }

  /** Takes a request out of every structure and resolves its promise. */
  #finish(item: QueuedRequest, decision: FlowDecision): void {
    const { flow } = item;
    if (!flow.heap.remove(item)) return;
    const { band } = flow;
    flow.byteSize -= item.byteSize;
    band.queuedRequests -= 1;
    band.queuedBytes -= item.byteSize;
    this.#queued.delete(item.sequence);
    this.#queuedBytes -= item.byteSize;
    if (flow.length === 0) band.flows.delete(flow.fairnessId);
    this.#dropIfUnused(band);
    if (item.onAbort) item.signal?.removeEventListener('abort', item.onAbort);
    item.settle(decision);
  }

  #runCycle(): void {
    if (this.#closed) return;
    if (this.#cycling) {
      // A policy or callback re-entered (e.g. called notify()): run once more afterwards.
      this.#cycleRequested = true;
      return;
    }
    this.#cycling = true;
    try {
      this.#cycle();
      if (this.#cycleRequested) {
        this.#cycleRequested = false;
        this.#cycle();
      }
    } finally {
      this.#cycling = false;
      this.#cycleRequested = false;
      this.#updateTimer();
    }
  }

  #cycle(): void {
    if (this.#queued.size === 0) return;
    const now = this.#now();
    let hasEndpoints = this.#hadEndpoints;
    try {
      hasEndpoints = this.#options.hasEndpoints();
      if (hasEndpoints && !this.#hadEndpoints) this.#endpointsSince = now;
      this.#hadEndpoints = hasEndpoints;
      // Dispatch before expiring: a request that can go now is better served than rejected.
      if (hasEndpoints) this.#dispatch(now);
    } catch (error) {
      // A failing policy or signal must not wedge the queue: expiry below still runs.
      this.#logger.error({ error: String(error) }, 'flow control dispatch failed');
    }
    this.#expire(now, hasEndpoints);
  }

  #dispatch(now: number): void {
    let budget = this.#maxDispatchesPerCycle;
    if (this.#options.dispatchedInFlight) budget -= Math.max(0, this.#options.dispatchedInFlight());
    if (budget <= 0) return;
    const saturation = this.#options.saturation();
    // #finish may drop emptied template bands by replacing #bandOrder; this loop keeps the snapshot.
    const bands = this.#bandOrder;
    for (const band of bands) {
      if (band.queuedRequests === 0) continue;
      const ceiling = this.#usageLimit.ceiling(saturation, band.priority);
      // `!(a < b)` also blocks on NaN: an unreadable signal must not open the gates.
      if (!(saturation < ceiling)) return;
      while (band.queuedRequests > 0) {
        if (budget <= 0) return;
        const picked = band.fairness.pickFlow(band, band.fairnessState);
        const flow = picked === undefined ? undefined : band.flows.get(picked.fairnessId);
        if (flow === undefined || flow !== picked) {
          // The fairness policy declined (or returned a foreign flow): hold this band and the lower
          // ones rather than let lower priorities overtake it.
          return;
        }
        const item = flow.heap.peek() as QueuedRequest;
        this.#finish(item, { dispatched: true, queuedMilliseconds: Math.max(0, now - item.enqueuedAt) });
        budget -= 1;
      }
    }
  }

  #expire(now: number, hasEndpoints: boolean): void {
    const ttl = hasEndpoints ? this.#defaultTTL : this.#noEndpointTTL;
    if (ttl <= 0) return;
    // While endpoints exist the budget counts from when they appeared at the earliest, so requests
    // that waited out a cold start under a longer `noEndpointRequestTTL` are not shed the moment
    // the first pod becomes ready.
    const since = hasEndpoints ? this.#endpointsSince : Number.NEGATIVE_INFINITY;
    // Enqueue order is expiry order (one TTL for all, counted from a non-decreasing clock), so
    // stop at the first request still within its budget.
    for (const item of this.#queued.values()) {
      if (now - Math.max(item.enqueuedAt, since) < ttl) break;
      this.#finish(
        item,
        hasEndpoints
          ? {
              dispatched: false,
              status: 429,
              dropReason: 'rejected-ttl-expired',
              message: `flow control: request waited ${ttl} ms in the queue without being dispatched`,
            }
          : {
              dispatched: false,
              status: 503,
              dropReason: 'rejected-no-endpoints',
              message: `flow control: no endpoints in the pool after waiting ${ttl} ms`,
            },
      );
    }
  }

  #updateTimer(): void {
    if (this.#closed || this.#queued.size === 0) {
      this.#stopTimer();
      return;
    }
    if (this.#timer !== undefined) return;
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      this.#runCycle();
    }, this.#cycleInterval);
  }

  #stopTimer(): void {
    if (this.#timer === undefined) return;
    this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

function cancelled(): FlowDecision {
  return {
    dispatched: false,
    status: 503,
    dropReason: 'rejected-context-cancelled',
    message: 'flow control: the client went away while the request was queued',
  };
}

function shuttingDown(): FlowDecision {
  return {
    dispatched: false,
    status: 503,
    dropReason: 'rejected-shutting-down',
    message: 'flow control: the endpoint picker is shutting down',
  };
}
