import { z } from 'zod';
import type { UsageLimitPolicy } from '../../../flowcontrol/flow-control-policies.js';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { PluginBehaviour } from '../../../plugin/plugin-interfaces.js';

export const staticUsageLimitPolicyParameters = z
  .object({
    /** The ceiling of every band; 1.0 dispatches until the pool is saturated (no extra gating). */
    threshold: z.number().min(0).default(1),
  })
  .strict()
  .default({ threshold: 1 });

/** The same ceiling for every priority. */
export function createStaticUsageLimitPolicy(threshold = 1): UsageLimitPolicy {
  return { ceiling: () => threshold };
}

/** llm-d's default usage-limit policy. */
export const staticUsageLimitPolicyPlugin = definePlugin({
  type: 'static-usage-limit-policy',
  stability: 'Beta',
  parameters: staticUsageLimitPolicyParameters,
  create: ({ threshold }) => {
    const behaviour: PluginBehaviour & UsageLimitPolicy = createStaticUsageLimitPolicy(threshold);
    return behaviour;
  },
});
