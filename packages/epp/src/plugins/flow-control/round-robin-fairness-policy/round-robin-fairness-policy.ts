import type { FairnessPolicy, FlowQueueView } from '../../../flowcontrol/flow-control-policies.js';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { PluginBehaviour } from '../../../plugin/plugin-interfaces.js';

/** Per-band cursor: the fairness id served last. */
interface RoundRobinCursor {
  lastFairnessId: string | undefined;
}

/**
 * Serves the band's flows in turn, one request each, in fairness-id order (as llm-d sorts flow
 * keys): the next flow is the first id after the one served last, wrapping around. Flows that
 * empty drop out of the rotation and rejoin in their sorted place, so no flow can starve another.
 * O(flows) per pick without sorting or allocating.
 */
export function createRoundRobinFairnessPolicy(): FairnessPolicy {
  return {
    newBandState: (): RoundRobinCursor => ({ lastFairnessId: undefined }),
    pickFlow(band, bandState) {
      const cursor = bandState as RoundRobinCursor;
      const last = cursor.lastFairnessId;
      let next: FlowQueueView | undefined;
      let first: FlowQueueView | undefined;
      for (const flow of band.flows.values()) {
        if (flow.length === 0) continue;
        if (first === undefined || flow.fairnessId < first.fairnessId) first = flow;
        if (
          last !== undefined &&
          flow.fairnessId > last &&
          (next === undefined || flow.fairnessId < next.fairnessId)
        ) {
          next = flow;
        }
      }
      const chosen = next ?? first;
      cursor.lastFairnessId = chosen?.fairnessId;
      return chosen;
    },
  };
}

export const roundRobinFairnessPolicyPlugin = definePlugin({
  type: 'round-robin-fairness-policy',
  stability: 'Beta',
  create: () => {
    const behaviour: PluginBehaviour & FairnessPolicy = createRoundRobinFairnessPolicy();
    return behaviour;
  },
});
