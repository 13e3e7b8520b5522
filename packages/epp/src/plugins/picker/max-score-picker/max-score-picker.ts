import { z } from 'zod';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { ScoredEndpoint } from '../../../plugin/plugin-interfaces.js';

export const maxScorePickerParameters = z
  .object({
    /** How many endpoints to return: the first is the target, the rest are fallbacks. */
    maxNumOfEndpoints: z.number().int().min(1).default(1),
  })
  .strict()
  .default({ maxNumOfEndpoints: 1 });

/**
 * Picks the highest totals. Ties are broken randomly (shuffle, then a stable sort), so equal
 * endpoints share load instead of the first one taking everything.
 */
export const maxScorePickerPlugin = definePlugin({
  type: 'max-score-picker',
  stability: 'Stable',
  parameters: maxScorePickerParameters,
  create: ({ maxNumOfEndpoints }, handle) => ({
    pick(_request, scored) {
      if (maxNumOfEndpoints === 1) {
        // Single pass: reservoir-style random choice among the maxima, no allocation.
        let best: ScoredEndpoint | undefined;
        let ties = 0;
        for (const candidate of scored) {
          if (best === undefined || candidate.score > best.score) {
            best = candidate;
            ties = 1;
          } else if (candidate.score === best.score) {
            ties += 1;
            if (handle.random() * ties < 1) best = candidate;
          }
        }
        return best ? [best.endpoint] : [];
      }
      const shuffled = [...scored];
      for (let index = shuffled.length - 1; index > 0; index--) {
        const other = Math.floor(handle.random() * (index + 1));
        [shuffled[index], shuffled[other]] = [
          shuffled[other] as ScoredEndpoint,
          shuffled[index] as ScoredEndpoint,
        ];
      }
      shuffled.sort((left, right) => right.score - left.score);
      return shuffled.slice(0, maxNumOfEndpoints).map((candidate) => candidate.endpoint);
    },
  }),
});
