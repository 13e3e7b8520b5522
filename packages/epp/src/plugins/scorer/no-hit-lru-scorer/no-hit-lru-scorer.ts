import { z } from 'zod';
import { attributeKey } from '../../../plugin/attribute-map.js';
import { prefixCacheMatchAttribute, prefixCacheMatchDataKey } from '../../../plugin/data-keys.js';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';
import { RecentlyUsedEndpoints } from './recently-used-endpoints.js';

const defaultPrefixProducerName = 'approx-prefix-cache-producer';
/** llm-d hard-codes the P/D prefill profile name. */
const prefillProfileName = 'prefill';

export const noHitLruScorerParameters = z
  .object({
    /** How many endpoints the LRU remembers. */
    lruSize: z.number().int().min(1).default(1024),
    /** The prefix-cache producer whose match data decides whether a request is cold. */
    prefixMatchInfoProducerName: z.string().min(1).default(defaultPrefixProducerName),
    /** Deprecated in llm-d (never used); accepted and ignored so older configs still load. */
    prefixPluginType: z.string().optional(),
    /** Deprecated in llm-d (never used); accepted and ignored so older configs still load. */
    prefixPluginName: z.string().optional(),
  })
  .strict()
  .default({ lruSize: 1024, prefixMatchInfoProducerName: defaultPrefixProducerName });

/**
 * Spreads cold requests (no prefix-cache hit on any candidate) over the endpoints that took a cold
 * request least recently, so the new KV blocks they create grow evenly across the pool. Warm
 * requests score 0.5 everywhere (neutral: the prefix scorer decides).
 *
 * Cold scoring ranks the candidates: endpoints that never took a cold request first (1.0 each), then
 * the others from least to most recently used, `1 − rank / (n − 1)` where `rank` counts the
 * never-used candidates plus the endpoint's position among the used ones; the most recent scores 0.
 * Pre-request records the primary target (and the `prefill` profile's target) for cold requests only.
 */
export const noHitLruScorerPlugin = definePlugin({
  type: 'no-hit-lru-scorer',
  stability: 'Stable',
  parameters: noHitLruScorerParameters,
  create: (parameters, handle) => {
    if (parameters.prefixPluginType !== undefined || parameters.prefixPluginName !== undefined) {
      handle.logger.warn(
        {},
        'no-hit-lru-scorer: prefixPluginType and prefixPluginName are deprecated and ignored',
      );
    }
    const prefixAttribute = prefixCacheMatchAttribute(parameters.prefixMatchInfoProducerName);
    const recentlyUsed = new RecentlyUsedEndpoints(parameters.lruSize);
    // Whether this request was cold, handed from score to preRequest on the request itself.
    const coldRequest = attributeKey<boolean>(`no-hit-lru-scorer/${handle.name}/cold-request`);

    return {
      category: 'Distribution',
      consumes: { required: [prefixCacheMatchDataKey(parameters.prefixMatchInfoProducerName)] },
      score(request, endpoints) {
        let cold = true;
        for (const candidate of endpoints) {
          if ((candidate.attributes.get(prefixAttribute)?.matchBlocks ?? 0) > 0) {
            cold = false;
            break;
          }
        }
        request.attributes.set(coldRequest, cold);
        const scores = new Map<SchedulingEndpoint, number>();
        if (!cold) {
          for (const candidate of endpoints) scores.set(candidate, 0.5);
          return scores;
        }
        if (endpoints.length === 1) {
          scores.set(endpoints[0] as SchedulingEndpoint, 1);
          return scores;
        }
        const used: Array<{ candidate: SchedulingEndpoint; lastUse: number }> = [];
        for (const candidate of endpoints) {
          const lastUse = recentlyUsed.lastUse(candidate.endpoint.key);
          if (lastUse === undefined) scores.set(candidate, 1);
          else used.push({ candidate, lastUse });
        }
        used.sort((left, right) => left.lastUse - right.lastUse);
        const neverUsed = endpoints.length - used.length;
        const denominator = endpoints.length - 1;
        for (const [position, { candidate }] of used.entries()) {
          scores.set(candidate, 1 - (neverUsed + position) / denominator);
        }
        return scores;
      },
      preRequest(request, result) {
        if (request.attributes.get(coldRequest) !== true) return;
        const primary = result.profileResults.get(result.primaryProfileName)?.targets[0];
        if (primary) recentlyUsed.touch(primary.endpoint.key);
        if (result.primaryProfileName !== prefillProfileName) {
          const prefill = result.profileResults.get(prefillProfileName)?.targets[0];
          if (prefill) recentlyUsed.touch(prefill.endpoint.key);
        }
      },
    };
  },
});
