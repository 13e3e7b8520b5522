import { z } from 'zod';
import {
  type InFlightLoad,
  inFlightLoadAttribute,
  inFlightLoadDataKey,
  type PrefixCacheMatchInfo,
  prefixCacheMatchAttribute,
  prefixCacheMatchDataKey,
  tokenizedPromptAttribute,
  tokenizedPromptDataKey,
} from '../../../plugin/data-keys.js';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { SchedulingRequest } from '../../../plugin/scheduling-request.js';
import { type ContributionInput, InFlightLedger } from './in-flight-ledger.js';

export const inflightLoadProducerParameters = z
  .object({
    /**
     * Also count an estimate of the output tokens (`round(1.5 × prompt tokens)`, capped by the
     * request's `max_tokens`). Off by default: output length is unknown at scheduling time.
     */
    addEstimatedOutputTokens: z.boolean().default(false),
    /** Which prefix-cache producer's match data discounts the cached part of the prompt. */
    prefixMatchInfoProducerName: z.string().min(1).default('approx-prefix-cache-producer'),
  })
  .strict()
  .default({ addEstimatedOutputTokens: false, prefixMatchInfoProducerName: 'approx-prefix-cache-producer' });

/** llm-d's default output/input ratio for the output-token estimate. */
const estimatedOutputToInputRatio = 1.5;
/** Upper bound on requests tracked at once; far above any single EPP's concurrency. */
const maxTrackedRequests = 100_000;
/** llm-d hard-codes the P/D prefill profile name. */
const prefillProfileName = 'prefill';
const idle: InFlightLoad = Object.freeze({ requests: 0, tokens: 0 });

/**
 * Prompt tokens of the request: the tokenized prompt when a token producer ran, otherwise the body
 * size at 4 bytes per token (llm-d's `estimate` backend ratio).
 */
export function promptTokenCount(request: SchedulingRequest): number {
  const tokenized = request.attributes.get(tokenizedPromptAttribute);
  if (tokenized) return tokenized.tokenIds.length;
  return Math.ceil(request.bodyBytes / 4);
}

/**
 * The prompt tokens an endpoint still has to compute: the indexed blocks it does not hold, plus any
 * tail beyond what the prefix index covers (long prompts are capped by `maxPrefixTokensToMatch`).
 * Without match data the whole prompt counts.
 */
export function uncachedPromptTokens(promptTokens: number, match: PrefixCacheMatchInfo | undefined): number {
  if (!match || match.blockSizeTokens <= 0) return Math.max(0, promptTokens);
  const indexed = match.totalBlocks * match.blockSizeTokens;
  const cached = match.matchBlocks * match.blockSizeTokens;
  return Math.max(0, indexed - cached) + Math.max(0, promptTokens - indexed);
}

function estimatedOutputTokens(promptTokens: number, maxTokens: number | undefined): number {
  if (promptTokens <= 0) return 0;
  const estimate = Math.round(promptTokens * estimatedOutputToInputRatio);
  return maxTokens !== undefined && maxTokens >= 0 && maxTokens < estimate ? maxTokens : estimate;
}

/**
 * Tracks the requests and uncached prompt tokens this EPP replica has in flight per endpoint, and
 * writes them as `inflight-load` on every candidate for `active-request-scorer` and
 * `token-load-scorer`. Each profile's first target (decode, prefill, …) is counted at pre-request.
 * Tokens are released when the first response chunk arrives (prefill is done) or at completion;
 * requests at completion, exactly once per request even on disconnects. With
 * `addEstimatedOutputTokens`, tokens stay counted until completion, except the prefill profile's
 * share, released in full at the first chunk.
 */
export const inflightLoadProducerPlugin = definePlugin({
  type: 'inflight-load-producer',
  stability: 'Stable',
  parameters: inflightLoadProducerParameters,
  defaultProducerFor: [inFlightLoadDataKey],
  create: (parameters, handle) => {
    const prefixAttribute = prefixCacheMatchAttribute(parameters.prefixMatchInfoProducerName);
    const ledger = new InFlightLedger(maxTrackedRequests, (requestId) =>
      handle.logger.warn(
        { requestId, maxTrackedRequests },
        'in-flight tracking is full; released the oldest request early',
      ),
    );
    return {
      produces: [inFlightLoadDataKey],
      consumes: {
        required: [],
        optional: [tokenizedPromptDataKey, prefixCacheMatchDataKey(parameters.prefixMatchInfoProducerName)],
      },
      produce(_request, endpoints) {
        for (const candidate of endpoints) {
          const load = ledger.load(candidate.endpoint.key);
          candidate.attributes.set(
            inFlightLoadAttribute,
            load ? { requests: load.requests, tokens: load.tokens } : idle,
          );
        }
      },
      preRequest(request, result) {
        const promptTokens = promptTokenCount(request);
        const outputTokens = parameters.addEstimatedOutputTokens
          ? estimatedOutputTokens(promptTokens, request.body?.maxTokens)
          : 0;
        const contributions: ContributionInput[] = [];
        for (const [profileName, profileResult] of result.profileResults) {
          const target = profileResult?.targets[0];
          if (!target) continue;
          const uncached = uncachedPromptTokens(promptTokens, target.attributes.get(prefixAttribute));
          contributions.push({
            profileName,
            endpointKey: target.endpoint.key,
            tokens: uncached + outputTokens,
          });
        }
        ledger.add(request.requestId, contributions);
      },
      responseChunk(request, chunk) {
        if (!chunk.first) return;
        if (parameters.addEstimatedOutputTokens) ledger.releaseProfile(request.requestId, prefillProfileName);
        else ledger.releaseTokens(request.requestId);
      },
      requestComplete(request) {
        ledger.releaseAll(request.requestId);
      },
      endpointRemoved(endpoint) {
        ledger.removeEndpoint(endpoint.key);
      },
    };
  },
});
