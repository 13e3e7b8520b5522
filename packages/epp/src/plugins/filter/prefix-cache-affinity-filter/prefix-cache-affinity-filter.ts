import { z } from 'zod';
import {
  inFlightLoadAttribute,
  inFlightLoadDataKey,
  prefixCacheMatchAttribute,
  prefixCacheMatchDataKey,
} from '../../../plugin/data-keys.js';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';

export const prefixCacheAffinityFilterParameters = z
  .object({
    /** Endpoints whose prefix match ratio (matchBlocks / totalBlocks) reaches this are "sticky". */
    affinityThreshold: z.number().min(0).max(1).default(0.8),
    /** Probability of skipping the gate for a request, so other endpoints warm up over time. */
    explorationProbability: z.number().min(0).max(1).default(0),
    /**
     * Break stickiness when the best sticky endpoint's estimated TTFT exceeds the best non-sticky
     * one's by more than this many milliseconds; 0 always sticks.
     */
    maxTTFTPenaltyMs: z.number().min(0).default(18000),
    /** Only `prefillThroughput` is supported (llmd has no latency predictor). */
    ttftSource: z
      .enum(['prefillThroughput', 'latencyPredictor'])
      .default('prefillThroughput')
      .refine((source) => source === 'prefillThroughput', {
        error:
          'ttftSource "latencyPredictor" is not supported by llmd (no predicted-latency-producer); use prefillThroughput',
      }),
    /** Tokens per second one endpoint prefills; TTFT estimate = in-flight tokens / this × 1000. */
    peakPrefillThroughput: z.number().positive().default(15928),
    /** Which producer's prefix match data to read. */
    prefixMatchInfoProducerName: z.string().min(1).default('approx-prefix-cache-producer'),
  })
  .strict()
  .prefault({});

/**
 * Narrows the candidates to endpoints that already hold most of the prompt, unless none does, the
 * request explores, or the sticky endpoints are so loaded that a cold one would answer sooner.
 * Never returns an empty list for a non-empty input.
 */
export const prefixCacheAffinityFilterPlugin = definePlugin({
  type: 'prefix-cache-affinity-filter',
  stability: 'Beta',
  parameters: prefixCacheAffinityFilterParameters,
  create: (parameters, handle) => {
    const matchAttribute = prefixCacheMatchAttribute(parameters.prefixMatchInfoProducerName);
    const loadGateEnabled = parameters.maxTTFTPenaltyMs > 0;

    const matchRatio = (candidate: SchedulingEndpoint): number => {
      const info = candidate.attributes.get(matchAttribute);
      return info && info.totalBlocks > 0 ? info.matchBlocks / info.totalBlocks : 0;
    };
    /** Lowest estimated TTFT in milliseconds, or undefined when no endpoint carries in-flight data. */
    const bestTtftMilliseconds = (candidates: ReadonlyArray<SchedulingEndpoint>): number | undefined => {
      let best: number | undefined;
      for (const candidate of candidates) {
        const load = candidate.attributes.get(inFlightLoadAttribute);
        if (!load) continue;
        const ttft = (load.tokens / parameters.peakPrefillThroughput) * 1000;
        if (best === undefined || ttft < best) best = ttft;
      }
      return best;
    };

    return {
      consumes: {
        required: [
          prefixCacheMatchDataKey(parameters.prefixMatchInfoProducerName),
          ...(loadGateEnabled ? [inFlightLoadDataKey] : []),
        ],
      },
      filter(_request, endpoints) {
        if (endpoints.length <= 1 || parameters.affinityThreshold <= 0) return endpoints;
        if (parameters.explorationProbability > 0 && handle.random() < parameters.explorationProbability) {
          return endpoints;
        }
        const sticky: SchedulingEndpoint[] = [];
        const nonSticky: SchedulingEndpoint[] = [];
        for (const candidate of endpoints) {
          (matchRatio(candidate) >= parameters.affinityThreshold ? sticky : nonSticky).push(candidate);
        }
        if (sticky.length === 0) return endpoints;
        if (loadGateEnabled && nonSticky.length > 0) {
          const stickyTtft = bestTtftMilliseconds(sticky);
          const nonStickyTtft = bestTtftMilliseconds(nonSticky);
          // Without a load signal on both sides the gate cannot judge; llm-d keeps everything then.
          if (stickyTtft === undefined || nonStickyTtft === undefined) return endpoints;
          if (stickyTtft - nonStickyTtft > parameters.maxTTFTPenaltyMs) return endpoints;
        }
        return sticky;
      },
    };
  },
});
