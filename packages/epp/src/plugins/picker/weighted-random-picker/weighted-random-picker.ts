import { z } from 'zod';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';
import { pickUniformly } from '../random-picker/random-picker.js';

export const weightedRandomPickerParameters = z
  .object({
    /** How many distinct endpoints to return: the first is the target, the rest are fallbacks. */
    maxNumOfEndpoints: z.number().int().min(1).default(1),
  })
  .strict()
  .prefault({});

/** llm-d replaces a draw of exactly 0 so every positive weight gets a positive key. */
const smallestDraw = 1e-10;

/**
 * Weighted random sampling without replacement (Efraimidis–Spirakis A-Res): each endpoint with
 * score w > 0 gets the key U^(1/w), U uniform in (0, 1); the largest keys win. The chance of
 * being first is proportional to the score. Endpoints scoring ≤ 0 only fill remaining slots (in
 * random order); if no endpoint scores above 0 the pick is uniform.
 */
export const weightedRandomPickerPlugin = definePlugin({
  type: 'weighted-random-picker',
  stability: 'Beta',
  parameters: weightedRandomPickerParameters,
  create: ({ maxNumOfEndpoints }, handle) => {
    const key = (score: number): number => {
      // Zero-score endpoints get a negative key: below every positive one, randomly ordered among themselves.
      if (!(score > 0)) return -handle.random() - smallestDraw;
      const draw = handle.random();
      return (draw === 0 ? smallestDraw : draw) ** (1 / score);
    };
    return {
      pick(_request, scored) {
        if (!scored.some((candidate) => candidate.score > 0)) {
          return pickUniformly(scored, maxNumOfEndpoints, () => handle.random());
        }
        if (maxNumOfEndpoints === 1) {
          let best: SchedulingEndpoint | undefined;
          let bestKey = Number.NEGATIVE_INFINITY;
          for (const candidate of scored) {
            if (!(candidate.score > 0)) continue;
            const candidateKey = key(candidate.score);
            if (candidateKey > bestKey) {
              bestKey = candidateKey;
              best = candidate.endpoint;
            }
          }
          return best ? [best] : [];
        }
        const keyed = scored.map((candidate) => ({
          endpoint: candidate.endpoint,
          key: key(candidate.score),
        }));
        keyed.sort((left, right) => right.key - left.key);
        return keyed.slice(0, maxNumOfEndpoints).map((entry) => entry.endpoint);
      },
    };
  },
});
