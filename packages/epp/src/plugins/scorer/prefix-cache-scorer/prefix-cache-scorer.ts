import { z } from 'zod';
import {
  type PrefixCacheMatchInfo,
  prefixCacheMatchAttribute,
  prefixCacheMatchDataKey,
} from '../../../plugin/data-keys.js';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';

export const prefixCacheScorerParameters = z
  .object({
    /**
     * Weight of the match-length term against the match-ratio term. 0 (llm-d's default) scores the
     * ratio alone, which favours short prompts (a 1-block prompt fully cached ties a 1000-block one).
     */
    matchLengthWeight: z.number().min(0).max(1).default(0),
    /** Matched tokens at which the length term saturates at 1. */
    matchLengthScaleTokens: z.number().int().positive().default(8192),
    /** Which producer's `PrefixCacheMatchInfo` to read (its instance name). */
    prefixMatchInfoProducerName: z.string().min(1).default('approx-prefix-cache-producer'),
  })
  .strict()
  .prefault({});
export type PrefixCacheScorerParameters = z.output<typeof prefixCacheScorerParameters>;

/**
 * `w·min(1, matchedTokens / matchLengthScaleTokens)² + (1 − w)·matchBlocks / totalBlocks`, with
 * `matchedTokens = matchBlocks × blockSizeTokens`. No match data, or a prompt with no blocks,
 * scores 0.
 */
export function prefixCacheScore(
  info: PrefixCacheMatchInfo | undefined,
  parameters: Pick<PrefixCacheScorerParameters, 'matchLengthWeight' | 'matchLengthScaleTokens'>,
): number {
  if (!info || info.totalBlocks <= 0) return 0;
  const ratio = Math.min(1, Math.max(0, info.matchBlocks / info.totalBlocks));
  const weight = parameters.matchLengthWeight;
  if (weight === 0) return ratio;
  const length = Math.min(1, (info.matchBlocks * info.blockSizeTokens) / parameters.matchLengthScaleTokens);
  return weight * length * length + (1 - weight) * ratio;
}

/**
 * Scores endpoints by how much of the prompt's prefix they hold, as reported by a prefix-cache
 * producer (approximate by default; point `prefixMatchInfoProducerName` at
 * `precise-prefix-cache-producer` for KV-event data). Requiring the producer's data key makes the
 * loader create `approx-prefix-cache-producer` when it is the source and nobody configured one.
 */
export const prefixCacheScorerPlugin = definePlugin({
  type: 'prefix-cache-scorer',
  stability: 'Stable',
  parameters: prefixCacheScorerParameters,
  create: (parameters) => {
    const attribute = prefixCacheMatchAttribute(parameters.prefixMatchInfoProducerName);
    return {
      category: 'Affinity',
      consumes: { required: [prefixCacheMatchDataKey(parameters.prefixMatchInfoProducerName)] },
      score(_request, endpoints) {
        const scores = new Map<SchedulingEndpoint, number>();
        for (const candidate of endpoints) {
          scores.set(candidate, prefixCacheScore(candidate.attributes.get(attribute), parameters));
        }
        return scores;
      },
    };
  },
});
