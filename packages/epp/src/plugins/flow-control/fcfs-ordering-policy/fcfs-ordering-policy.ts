import { compareArrival, type OrderingPolicy } from '../../../flowcontrol/flow-control-policies.js';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { PluginBehaviour } from '../../../plugin/plugin-interfaces.js';

/** First come, first served: earlier arrival first, enqueue order on equal arrival times. */
export function createFcfsOrderingPolicy(): OrderingPolicy {
  return { compareRequests: compareArrival };
}

/** llm-d's default ordering policy within a flow. */
export const fcfsOrderingPolicyPlugin = definePlugin({
  type: 'fcfs-ordering-policy',
  stability: 'Beta',
  create: () => {
    const behaviour: PluginBehaviour & OrderingPolicy = createFcfsOrderingPolicy();
    return behaviour;
  },
});
