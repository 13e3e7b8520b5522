import { definePlugin } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';

/**
 * Prefers endpoints running fewer requests. Min-max normalised over the candidates like
 * `queue-scorer`, on `runningRequestsSize`: fewest scores 1, most 0, all equal 1. Endpoints whose
 * metrics were never scraped are left unscored (0) and do not stretch the range.
 */
export const runningRequestsSizeScorerPlugin = definePlugin({
  type: 'running-requests-size-scorer',
  stability: 'Stable',
  create: () => ({
    category: 'Distribution',
    score(_request, endpoints) {
      let minimum = Number.POSITIVE_INFINITY;
      let maximum = Number.NEGATIVE_INFINITY;
      for (const candidate of endpoints) {
        if (candidate.metrics.updateTime === 0) continue;
        const running = candidate.metrics.runningRequestsSize;
        if (running < minimum) minimum = running;
        if (running > maximum) maximum = running;
      }
      const scores = new Map<SchedulingEndpoint, number>();
      const range = maximum - minimum;
      for (const candidate of endpoints) {
        if (candidate.metrics.updateTime === 0) continue;
        scores.set(candidate, range > 0 ? (maximum - candidate.metrics.runningRequestsSize) / range : 1);
      }
      return scores;
    },
  }),
});
