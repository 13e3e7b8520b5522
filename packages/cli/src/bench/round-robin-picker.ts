import { definePlugin } from '@llmd/epp/plugin';
import { z } from 'zod';

export const roundRobinPickerParameters = z
  .object({
    /** How many endpoints to return: the next one in turn is the target, the ones after it are fallbacks. */
    maxNumOfEndpoints: z.number().int().min(1).default(1),
  })
  .strict()
  .prefault({});

/**
 * Takes the candidates in turn, ignoring scores: the cache-blind baseline of llm-d's benchmarks (a
 * Kubernetes Service spreading requests over its pods). Candidates are ordered by `ip:port` so the
 * rotation is stable while the pool is.
 *
 * Not an llm-d plugin type: llm-d has no round-robin picker (its baselines use a plain Service). It
 * exists for `llmd bench --compare round-robin` and is registered only there, through
 * `startLocalStack`'s `plugins`.
 */
export const roundRobinPickerPlugin = definePlugin({
  type: 'round-robin-picker',
  stability: 'Beta',
  parameters: roundRobinPickerParameters,
  create: ({ maxNumOfEndpoints }) => {
    let turn = 0;
    return {
      pick(_request, scored) {
        if (scored.length === 0) return [];
        const ordered = [...scored].sort((left, right) =>
          left.endpoint.endpoint.key < right.endpoint.endpoint.key ? -1 : 1,
        );
        const first = turn % ordered.length;
        // Wrap well before the counter could lose integer precision.
        turn = (turn + 1) % 1_000_000_007;
        const count = Math.min(maxNumOfEndpoints, ordered.length);
        return Array.from(
          { length: count },
          (_, offset) => (ordered[(first + offset) % ordered.length] as (typeof ordered)[number]).endpoint,
        );
      },
    };
  },
});
