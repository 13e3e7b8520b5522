import { z } from 'zod';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';
import type { ScoredEndpoint } from '../../../plugin/plugin-interfaces.js';

export const randomPickerParameters = z
  .object({
    /** How many distinct endpoints to return: the first is the target, the rest are fallbacks. */
    maxNumOfEndpoints: z.number().int().min(1).default(1),
  })
  .strict()
  .prefault({});

/**
 * Picks `count` distinct endpoints uniformly at random, ignoring scores (a partial Fisher–Yates
 * shuffle: only the first `count` positions are drawn).
 */
export function pickUniformly(
  scored: ReadonlyArray<ScoredEndpoint>,
  count: number,
  random: () => number,
): SchedulingEndpoint[] {
  const taken = Math.min(count, scored.length);
  if (taken === 1) return [(scored[Math.floor(random() * scored.length)] as ScoredEndpoint).endpoint];
  const pool = scored.map((candidate) => candidate.endpoint);
  for (let index = 0; index < taken; index++) {
    const other = index + Math.floor(random() * (pool.length - index));
    [pool[index], pool[other]] = [pool[other] as SchedulingEndpoint, pool[index] as SchedulingEndpoint];
  }
  return pool.slice(0, taken);
}

/** Uniform random choice among the candidates that reached the picker. */
export const randomPickerPlugin = definePlugin({
  type: 'random-picker',
  stability: 'Beta',
  parameters: randomPickerParameters,
  create: ({ maxNumOfEndpoints }, handle) => ({
    pick: (_request, scored) => pickUniformly(scored, maxNumOfEndpoints, () => handle.random()),
  }),
});
