import type {
  FairnessPolicy,
  FlowQueueView,
  QueuedRequestView,
} from '../../../flowcontrol/flow-control-policies.js';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { PluginBehaviour } from '../../../plugin/plugin-interfaces.js';

/**
 * Ignores flow boundaries: the flow whose head comes first under the band's ordering policy goes
 * next, so the band behaves like one queue (strict FCFS across flows with `fcfs-ordering-policy`,
 * strict EDF with `edf-ordering-policy`). Stateless; O(flows) per pick.
 */
export function createGlobalStrictFairnessPolicy(): FairnessPolicy {
  return {
    pickFlow(band) {
      let bestFlow: FlowQueueView | undefined;
      let bestHead: QueuedRequestView | undefined;
      for (const flow of band.flows.values()) {
        const head = flow.peek();
        if (head === undefined) continue;
        if (bestHead === undefined || band.ordering.compareRequests(head, bestHead) < 0) {
          bestFlow = flow;
          bestHead = head;
        }
      }
      return bestFlow;
    },
  };
}

/** llm-d's default fairness policy. */
export const globalStrictFairnessPolicyPlugin = definePlugin({
  type: 'global-strict-fairness-policy',
  stability: 'Beta',
  create: () => {
    const behaviour: PluginBehaviour & FairnessPolicy = createGlobalStrictFairnessPolicy();
    return behaviour;
  },
});
