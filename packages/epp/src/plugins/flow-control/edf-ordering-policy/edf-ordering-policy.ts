import {
  compareArrival,
  type OrderingPolicy,
  type QueuedRequestView,
} from '../../../flowcontrol/flow-control-policies.js';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { PluginBehaviour } from '../../../plugin/plugin-interfaces.js';

/**
 * A request's absolute deadline: its TTFT SLO when it sent one, else its TTL. Requests with
 * neither (TTLs disabled, no SLO header) are not time-sensitive and sort after every deadline.
 */
export function requestDeadline(request: QueuedRequestView): number {
  return request.sloDeadline ?? request.ttlDeadline ?? Number.POSITIVE_INFINITY;
}

/** Earliest deadline first; FCFS between equal deadlines. */
export function createEdfOrderingPolicy(): OrderingPolicy {
  return {
    compareRequests(a, b) {
      const deadlineA = requestDeadline(a);
      const deadlineB = requestDeadline(b);
      // Compare rather than subtract: two infinite deadlines would give NaN.
      if (deadlineA < deadlineB) return -1;
      if (deadlineA > deadlineB) return 1;
      return compareArrival(a, b);
    },
  };
}

export const edfOrderingPolicyPlugin = definePlugin({
  type: 'edf-ordering-policy',
  stability: 'Beta',
  create: () => {
    const behaviour: PluginBehaviour & OrderingPolicy = createEdfOrderingPolicy();
    return behaviour;
  },
});
