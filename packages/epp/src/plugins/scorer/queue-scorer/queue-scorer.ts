import { definePlugin } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';

/**
 * Prefers short waiting queues. Min-max normalised over the candidates: the shortest queue scores 1,
 * the longest 0, `(max − q) / (max − min)` in between; equal queues all score 1 (nothing to tell
 * apart). Endpoints whose metrics were never scraped are left unscored (0) and do not stretch the
 * range, so an unknown endpoint cannot look idle.
 */
export const queueScorerPlugin = definePlugin({
  type: 'queue-scorer',
  stability: 'Stable',
  create: () => ({
    category: 'Distribution',
    score(_request, endpoints) {
      let minimum = Number.POSITIVE_INFINITY;
      let maximum = Number.NEGATIVE_INFINITY;
      for (const candidate of endpoints) {
        if (candidate.metrics.updateTime === 0) continue;
        const queue = candidate.metrics.waitingQueueSize;
        if (queue < minimum) minimum = queue;
        if (queue > maximum) maximum = queue;
      }
      const scores = new Map<SchedulingEndpoint, number>();
      const range = maximum - minimum;
      for (const candidate of endpoints) {
        if (candidate.metrics.updateTime === 0) continue;
        scores.set(candidate, range > 0 ? (maximum - candidate.metrics.waitingQueueSize) / range : 1);
      }
      return scores;
    },
  }),
});
