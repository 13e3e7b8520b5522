import { z } from 'zod';
import { durationMillisecondsSchema } from '../../../config/duration.js';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { EndpointState } from '../../../plugin/endpoint-state.js';

export const utilizationDetectorParameters = z
  .object({
    queueDepthThreshold: z.number().min(0).default(5),
    kvCacheUtilThreshold: z.number().min(0).max(1).default(0.8),
    metricsStalenessThreshold: durationMillisecondsSchema.default(200),
    /** Filter mode keeps endpoints up to `1 + headroom` times the thresholds. */
    headroom: z.number().min(0).default(0),
  })
  .strict()
  .default({
    queueDepthThreshold: 5,
    kvCacheUtilThreshold: 0.8,
    metricsStalenessThreshold: 200,
    headroom: 0,
  });

/**
 * llm-d's default saturation detector. Per endpoint: `max(queue / queueDepthThreshold,
 * kv / kvCacheUtilThreshold)`, stale or missing metrics count as 1.0 (fail safe); the pool's
 * saturation is the average. As a filter it drops endpoints above `1 + headroom`, returning the
 * original list when every endpoint would be dropped (fail open).
 */
export const utilizationDetectorPlugin = definePlugin({
  type: 'utilization-detector',
  stability: 'Stable',
  parameters: utilizationDetectorParameters,
  create: (parameters, handle) => {
    const endpointSaturation = (state: EndpointState, now: number): number => {
      const { metrics } = state;
      if (metrics.updateTime === 0 || now - metrics.updateTime > parameters.metricsStalenessThreshold)
        return 1;
      const queue =
        parameters.queueDepthThreshold > 0 ? metrics.waitingQueueSize / parameters.queueDepthThreshold : 0;
      const kv =
        parameters.kvCacheUtilThreshold > 0
          ? metrics.kvCacheUsagePercent / parameters.kvCacheUtilThreshold
          : 0;
      return Math.max(queue, kv);
    };
    return {
      saturation(endpoints) {
        if (endpoints.length === 0) return 1;
        const now = handle.now();
        let sum = 0;
        for (const state of endpoints) sum += endpointSaturation(state, now);
        return sum / endpoints.length;
      },
      filter(_request, endpoints) {
        const now = handle.now();
        const limit = 1 + parameters.headroom;
        const kept = endpoints.filter((state) => endpointSaturation(state, now) < limit);
        return kept.length === 0 ? endpoints : kept;
      },
    };
  },
});
