import { definePlugin } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';

/**
 * Prefers endpoints with free KV-cache: `1 − kvCacheUsagePercent` (usage is a 0–1 fraction).
 * Endpoints whose metrics were never scraped are left unscored (0): unknown is not the same as empty.
 */
export const kvCacheUtilizationScorerPlugin = definePlugin({
  type: 'kv-cache-utilization-scorer',
  stability: 'Stable',
  create: () => ({
    category: 'Distribution',
    score(_request, endpoints) {
      const scores = new Map<SchedulingEndpoint, number>();
      for (const candidate of endpoints) {
        if (candidate.metrics.updateTime === 0) continue;
        const free = 1 - candidate.metrics.kvCacheUsagePercent;
        // Engines occasionally report usage marginally outside 0–1; keep the score in range.
        scores.set(candidate, Math.min(1, Math.max(0, free)));
      }
      return scores;
    },
  }),
});
