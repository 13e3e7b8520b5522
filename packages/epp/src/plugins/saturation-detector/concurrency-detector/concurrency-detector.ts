import { z } from 'zod';
import { tokenizedPromptAttribute, tokenizedPromptDataKey } from '../../../plugin/data-keys.js';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { SchedulingRequest } from '../../../plugin/scheduling-request.js';

export const concurrencyDetectorParameters = z
  .object({
    /** `requests` counts requests, `tokens` prompt tokens, `hybrid` both (the tighter one wins). */
    concurrencyMode: z.enum(['requests', 'tokens', 'hybrid']).default('requests'),
    /** Ideal requests in flight per endpoint. */
    maxConcurrency: z.number().int().positive().default(100),
    /** Ideal prompt tokens in flight per endpoint. */
    maxTokenConcurrency: z.number().int().positive().default(1_000_000),
    /** Filter burst allowance above the ideal capacity, as a fraction (0.2 = 20 %). */
    headroom: z.number().min(0).default(0),
    /**
     * Accepted for llm-d config compatibility and ignored: this detector counts in-flight load
     * itself instead of reading an `inflight-load-producer`'s attribute.
     */
    inFlightLoadProducerName: z.string().optional(),
  })
  .strict()
  .default({ concurrencyMode: 'requests', maxConcurrency: 100, maxTokenConcurrency: 1_000_000, headroom: 0 });

/** Upper bound on requests tracked at once, so a lost completion cannot grow memory forever. */
export const maxTrackedRequests = 200_000;

interface EndpointLoad {
  requests: number;
  tokens: number;
}

interface TrackedRequest {
  readonly endpointKey: string;
  readonly load: EndpointLoad;
  readonly tokens: number;
}

/** Prompt tokens of a request: the tokenizer's count when a producer ran, else llm-d's 4-bytes-per-token estimate. */
export function estimatePromptTokens(request: SchedulingRequest): number {
  const tokenized = request.attributes.get(tokenizedPromptAttribute);
  if (tokenized) return tokenized.tokenIds.length;
  return Math.ceil(request.bodyBytes / 4);
}

/**
 * llm-d's `concurrency-detector`: pool saturation = in-flight load ÷ pool capacity (endpoints ×
 * `maxConcurrency`, or × `maxTokenConcurrency` in token mode), which reacts to a burst before any
 * metrics scrape does. As a filter it drops endpoints at or above `capacity × (1 + headroom)`.
 *
 * A saturation detector only receives endpoint states (no per-request attributes), so instead of
 * reading llm-d's `InFlightLoad` attribute this plugin keeps its own counters: `preRequest` adds
 * the request to its primary endpoint and `requestComplete` (called exactly once per scheduled
 * request, disconnects included) takes it off again.
 */
export const concurrencyDetectorPlugin = definePlugin({
  type: 'concurrency-detector',
  stability: 'Beta',
  parameters: concurrencyDetectorParameters,
  create: (parameters, handle) => {
    const { concurrencyMode, maxConcurrency, maxTokenConcurrency, headroom } = parameters;
    const countRequests = concurrencyMode !== 'tokens';
    const countTokens = concurrencyMode !== 'requests';
    // Truncated like llm-d's integer limit.
    const requestLimit = Math.floor(maxConcurrency * (1 + headroom));
    const tokenLimit = Math.floor(maxTokenConcurrency * (1 + headroom));
    /** Endpoints with requests in flight, by `ip:port`; an endpoint leaves when its count drops to 0. */
    const loads = new Map<string, EndpointLoad>();
    /** In-flight requests by id, oldest first. */
    const tracked = new Map<string, TrackedRequest>();

    const release = (entry: TrackedRequest): void => {
      entry.load.requests -= 1;
      entry.load.tokens -= entry.tokens;
      if (entry.load.requests <= 0 && loads.get(entry.endpointKey) === entry.load)
        loads.delete(entry.endpointKey);
    };

    return {
      consumes: { required: [], optional: [tokenizedPromptDataKey] },
      saturation(endpoints) {
        if (endpoints.length === 0) return 1;
        let requests = 0;
        let tokens = 0;
        for (const state of endpoints) {
          const load = loads.get(state.endpoint.key);
          if (!load) continue;
          requests += load.requests;
          tokens += load.tokens;
        }
        const requestSaturation = requests / (endpoints.length * maxConcurrency);
        const tokenSaturation = tokens / (endpoints.length * maxTokenConcurrency);
        if (concurrencyMode === 'requests') return requestSaturation;
        if (concurrencyMode === 'tokens') return tokenSaturation;
        return Math.max(requestSaturation, tokenSaturation);
      },
      filter(_request, endpoints) {
        return endpoints.filter((candidate) => {
          const load = loads.get(candidate.endpoint.key);
          if (!load) return true;
          if (countRequests && load.requests >= requestLimit) return false;
          if (countTokens && load.tokens >= tokenLimit) return false;
          return true;
        });
      },
      preRequest(request, result) {
        if (tracked.has(request.requestId)) return;
        const endpointKey = result.primary.endpoint.key;
        let load = loads.get(endpointKey);
        if (!load) {
          load = { requests: 0, tokens: 0 };
          loads.set(endpointKey, load);
        }
        const tokens = countTokens ? estimatePromptTokens(request) : 0;
        load.requests += 1;
        load.tokens += tokens;
        tracked.set(request.requestId, { endpointKey, load, tokens });
        if (tracked.size > maxTrackedRequests) {
          const [oldestId, oldest] = tracked.entries().next().value as [string, TrackedRequest];
          tracked.delete(oldestId);
          release(oldest);
          handle.logger.warn(
            { requestId: oldestId, maxTrackedRequests },
            'concurrency-detector: too many requests in flight; forgetting the oldest (was its completion lost?)',
          );
        }
      },
      requestComplete(request) {
        const entry = tracked.get(request.requestId);
        if (!entry) return;
        tracked.delete(request.requestId);
        release(entry);
      },
      endpointRemoved(endpoint) {
        // Requests still in flight there release a detached counter when they complete.
        loads.delete(endpoint.key);
      },
    };
  },
});
