import type { PluginDefinition } from '../plugin/define-plugin.js';
import { edfOrderingPolicyPlugin } from './flow-control/edf-ordering-policy/edf-ordering-policy.js';
import { fcfsOrderingPolicyPlugin } from './flow-control/fcfs-ordering-policy/fcfs-ordering-policy.js';
import { globalStrictFairnessPolicyPlugin } from './flow-control/global-strict-fairness-policy/global-strict-fairness-policy.js';
import { roundRobinFairnessPolicyPlugin } from './flow-control/round-robin-fairness-policy/round-robin-fairness-policy.js';
import { staticUsageLimitPolicyPlugin } from './flow-control/static-usage-limit-policy/static-usage-limit-policy.js';
import { concurrencyDetectorPlugin } from './saturation-detector/concurrency-detector/concurrency-detector.js';

/** Flow-control policies and the concurrency saturation detector, under llm-d's type names. */
// biome-ignore lint/suspicious/noExplicitAny: definitions of any parameter schema live side by side.
export const flowControlPlugins: ReadonlyArray<PluginDefinition<any>> = [
  globalStrictFairnessPolicyPlugin,
  roundRobinFairnessPolicyPlugin,
  fcfsOrderingPolicyPlugin,
  edfOrderingPolicyPlugin,
  staticUsageLimitPolicyPlugin,
  concurrencyDetectorPlugin,
];
