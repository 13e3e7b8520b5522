import { z } from 'zod';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';

export const loadAwareScorerParameters = z
  .object({
    /** Waiting-queue length that scores 0; longer queues are capped at it. */
    threshold: z.number().int().min(1).default(128),
  })
  .strict()
  .default({ threshold: 128 });

/**
 * Scores the waiting queue against a fixed threshold rather than against the other candidates: an
 * empty queue scores 0.5, a non-empty one `0.5 · (1 − min(q, threshold) / threshold)`, so a queue at
 * the threshold scores 0. Scores stay at or below 0.5, leaving headroom for a future "spare capacity"
 * signal (as upstream documents).
 */
export const loadAwareScorerPlugin = definePlugin({
  type: 'load-aware-scorer',
  stability: 'Stable',
  parameters: loadAwareScorerParameters,
  create: ({ threshold }) => ({
    category: 'Distribution',
    score(_request, endpoints) {
      const scores = new Map<SchedulingEndpoint, number>();
      for (const candidate of endpoints) {
        const waiting = candidate.metrics.waitingQueueSize;
        if (waiting <= 0) {
          scores.set(candidate, 0.5);
          continue;
        }
        scores.set(candidate, 0.5 * (1 - Math.min(waiting, threshold) / threshold));
      }
      return scores;
    },
  }),
});
