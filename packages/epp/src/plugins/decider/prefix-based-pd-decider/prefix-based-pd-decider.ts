import type { Logger } from '@llmd/core';
import { z } from 'zod';
import {
  prefixCacheMatchAttribute,
  prefixCacheMatchDataKey,
  tokenizedPromptDataKey,
} from '../../../plugin/data-keys.js';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { DisaggregationDeciderPlugin } from '../../../plugin/plugin-interfaces.js';
import { promptTokenCount } from './prompt-token-count.js';

export const defaultPrefixMatchInfoProducerName = 'approx-prefix-cache-producer';

export const prefixBasedPdDeciderParameters = z
  .object({
    /** Minimum uncached prompt tokens on the decode endpoint that make a remote prefill worth it; 0 disables P/D. */
    nonCachedTokens: z.number().int().min(0).default(0),
    /** Minimum prompt length in tokens before P/D is considered; 0 applies no minimum. */
    promptTokens: z.number().int().min(0).default(0),
    /** Which producer's prefix match data to read on the decode endpoint. */
    prefixMatchInfoProducerName: z.string().min(1).default(defaultPrefixMatchInfoProducerName),
  })
  .strict()
  .prefault({});

export interface PrefixBasedDecisionOptions {
  readonly nonCachedTokens: number;
  readonly promptTokens: number;
  readonly prefixMatchInfoProducerName: string;
  readonly logger: Logger;
}

/**
 * Disaggregate iff the prompt has at least `promptTokens` tokens and at least `nonCachedTokens` of
 * them are not cached on the chosen decode endpoint (cached = matchBlocks × blockSizeTokens). Fails
 * soft to decode-only: no prompt or no prefix match data means no P/D.
 */
export function createPrefixBasedDecision(options: PrefixBasedDecisionOptions): DisaggregationDeciderPlugin {
  const matchAttribute = prefixCacheMatchAttribute(options.prefixMatchInfoProducerName);
  return {
    shouldDisaggregate(request, decodeEndpoint) {
      if (options.nonCachedTokens === 0) return false;
      const prompt = promptTokenCount(request);
      if (prompt === undefined) {
        options.logger.debug({ requestId: request.requestId }, 'no prompt to measure; decode only');
        return false;
      }
      if (prompt < options.promptTokens || prompt < options.nonCachedTokens) return false;
      const match = decodeEndpoint.attributes.get(matchAttribute);
      if (!match) {
        options.logger.warn(
          { requestId: request.requestId, producer: options.prefixMatchInfoProducerName },
          'no prefix match data on the decode endpoint; decode only',
        );
        return false;
      }
      const cached = match.matchBlocks * match.blockSizeTokens;
      return prompt - cached >= options.nonCachedTokens;
    },
  };
}

/** P/D decider that disaggregates when the decode endpoint lacks enough of the prompt's prefix. */
export const prefixBasedPdDeciderPlugin = definePlugin({
  type: 'prefix-based-pd-decider',
  stability: 'Beta',
  parameters: prefixBasedPdDeciderParameters,
  create: (parameters, handle) => {
    if (parameters.nonCachedTokens === 0) {
      handle.logger.info({}, 'prefix-based P/D disabled (nonCachedTokens is 0)');
    }
    return {
      ...createPrefixBasedDecision({ ...parameters, logger: handle.logger }),
      // A disabled decider reads nothing, so it should not force a prefix producer into the pipeline.
      consumes: {
        required:
          parameters.nonCachedTokens > 0
            ? [prefixCacheMatchDataKey(parameters.prefixMatchInfoProducerName)]
            : [],
        optional: [tokenizedPromptDataKey],
      },
    };
  },
});
