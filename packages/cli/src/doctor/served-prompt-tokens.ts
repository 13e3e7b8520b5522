import type { PrometheusSample } from '@llmd/epp';
import { sumOfMetric } from './scrape-metrics.js';

/**
 * Counters that grow with every prompt an engine serves. vLLM counts prompt tokens when a request
 * ends and prefix-cache queries (also in tokens) when it is scheduled, so a request still running
 * shows up in the second.
 */
const trafficCounters = [
  'vllm:prompt_tokens_total',
  'vllm:prefix_cache_queries_total',
  'sglang:prompt_tokens_total',
  'trtllm_prompt_tokens_total',
] as const;

/**
 * Prompt tokens an engine has taken in since it started: the largest of the counters it exposes
 * (each only grows, so their maximum does too); undefined when it exposes none of them.
 */
export function servedPromptTokens(samples: ReadonlyArray<PrometheusSample>): number | undefined {
  let served: number | undefined;
  for (const name of trafficCounters) {
    const sum = sumOfMetric(samples, name);
    if (sum !== undefined) served = Math.max(served ?? 0, sum);
  }
  return served;
}
