import type { PluginBehaviour } from '../plugin/plugin-interfaces.js';

/**
 * The pluggable decisions of the flow-control layer, as llm-d splits them: a `FairnessPolicy`
 * chooses *between* the flows of one priority band, an `OrderingPolicy` chooses *within* one flow,
 * and a `UsageLimitPolicy` says how saturated the pool may be before a band stops dispatching.
 * Plugins implement them as ordinary `definePlugin` behaviours carrying these methods; the flow
 * controller detects them with the `is…` guards below, like the scheduler detects filters.
 */

/** A queued request as policies see it. Every field is fixed at enqueue time. */
export interface QueuedRequestView {
  readonly requestId: string;
  readonly priority: number;
  readonly fairnessId: string;
  readonly byteSize: number;
  /** When the request arrived at the EPP (milliseconds, the controller's clock). */
  readonly receivedAt: number;
  /** When the request entered the flow-control queue. */
  readonly enqueuedAt: number;
  /** Strictly increasing per enqueue: the final tie-breaker that keeps every order total. */
  readonly sequence: number;
  /** `receivedAt` + the request's TTFT SLO (`x-llm-d-slo-ttft-ms`), when it sent one. */
  readonly sloDeadline: number | undefined;
  /** `receivedAt` + the default request TTL; undefined when TTLs are disabled (`defaultRequestTTL: 0`). */
  readonly ttlDeadline: number | undefined;
}

/** One flow (fairness id within one priority band): its queue, ordered by the band's ordering policy. */
export interface FlowQueueView {
  readonly fairnessId: string;
  readonly priority: number;
  /** Queued requests; never 0 in a view handed to a policy (empty flows are removed). */
  readonly length: number;
  readonly byteSize: number;
  /** The request this flow would dispatch next (the ordering policy's first). */
  peek(): QueuedRequestView | undefined;
}

/** One priority band as a fairness policy sees it. */
export interface PriorityBandView {
  readonly priority: number;
  /** The band's non-empty flows by fairness id, in the order they became non-empty. */
  readonly flows: ReadonlyMap<string, FlowQueueView>;
  /** The ordering policy of every flow in this band (to compare heads across flows). */
  readonly ordering: OrderingPolicy;
}

export interface FairnessPolicy {
  /**
   * Creates this policy's state for one band (a round-robin cursor, say). One plugin instance may
   * serve several bands, so per-band state lives with the band, not in the plugin.
   */
  newBandState?(): unknown;
  /** The flow to dispatch from next, or undefined to dispatch nothing from this band now. */
  pickFlow(band: PriorityBandView, bandState: unknown): FlowQueueView | undefined;
}

export interface OrderingPolicy {
  /**
   * Negative when `a` should be dispatched before `b`, positive when after, 0 when equal. Must be
   * a total order that never changes while both are queued (queues are heaps keyed by it): compare
   * only the fixed fields of {@link QueuedRequestView}, and break ties with `sequence`.
   */
  compareRequests(a: QueuedRequestView, b: QueuedRequestView): number;
}

export interface UsageLimitPolicy {
  /**
   * The saturation at or above which the band of `priority` stops dispatching (llm-d's
   * `ComputeLimit`). 1.0 means "dispatch until the pool is saturated".
   */
  ceiling(saturation: number, priority: number): number;
}

type Guard<Capability> = (plugin: PluginBehaviour) => plugin is PluginBehaviour & Capability;
const hasMethod =
  <Capability>(method: string): Guard<Capability> =>
  (plugin): plugin is PluginBehaviour & Capability =>
    typeof (plugin as Record<string, unknown>)[method] === 'function';

export const isFairnessPolicy: Guard<FairnessPolicy> = hasMethod('pickFlow');
export const isOrderingPolicy: Guard<OrderingPolicy> = hasMethod('compareRequests');
export const isUsageLimitPolicy: Guard<UsageLimitPolicy> = hasMethod('ceiling');

/** Breaks ties between otherwise equal requests: earlier arrival first, then enqueue order. */
export function compareArrival(a: QueuedRequestView, b: QueuedRequestView): number {
  return a.receivedAt - b.receivedAt || a.sequence - b.sequence;
}
