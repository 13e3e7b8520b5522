import { z } from 'zod';
import {
  type PrefixCacheMatchInfo,
  prefixCacheMatchAttribute,
  prefixCacheMatchDataKey,
  tokenizedPromptAttribute,
  tokenizedPromptDataKey,
} from '../../../plugin/data-keys.js';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { EndpointState } from '../../../plugin/endpoint-state.js';
import type {
  ClosablePlugin,
  DataConsumerPlugin,
  DataProducerPlugin,
  EndpointLifecyclePlugin,
  PreRequestPlugin,
} from '../../../plugin/plugin-interfaces.js';
import type { SchedulingRequest } from '../../../plugin/scheduling-request.js';
import { ApproxPrefixIndex } from './approx-prefix-index.js';
import { PrefixBlockHasher } from './prefix-block-hasher.js';

/** llm-d's defaults (scheduler.md §7.3). */
const defaultBlockSizeTokens = 16;
/**
 * llm-d raises every block size below 64 tokens to 64, wherever it came from (engine metric or
 * configuration): the index keeps one LRU entry per (endpoint, block), and 16-token blocks made it
 * grow by gigabytes (llm-d-router #1158).
 */
export const minimumBlockSizeTokens = 64;
/** llm-d hard-codes the P/D prefill profile name: its target also gets the blocks. */
const prefillProfileName = 'prefill';
/** How often endpoints that left the pool are purged from the index (llm-d: 2 minutes). */
const purgeIntervalMilliseconds = 120_000;

export const approxPrefixCacheProducerParameters = z
  .object({
    /** Take the block size from the first candidate's `cacheBlockSize` and the LRU capacity from `cacheNumBlocks`. */
    autoTune: z.boolean().default(true),
    /** Tokens per block when `autoTune` is off or no metric is known (raised to at least 64). Default 16. */
    blockSizeTokens: z.number().int().positive().optional(),
    /** Deprecated name of `blockSizeTokens` (llm-d maps it the same way); use `blockSizeTokens`. */
    blockSize: z.number().int().positive().optional(),
    /** Cap on the blocks hashed per request, in tokens (`maxBlocks = tokens / blockSize`); 0 falls back to the block cap. */
    maxPrefixTokensToMatch: z.number().int().min(0).default(131_072),
    /** Cap in blocks, used only when `maxPrefixTokensToMatch` is 0; both 0 = unlimited. */
    maxPrefixBlocksToMatch: z.number().int().min(0).default(2048),
    /** Blocks remembered per endpoint when `autoTune` is off or `cacheNumBlocks` is unknown. */
    lruCapacityPerServer: z.number().int().positive().default(31_250),
  })
  .strict()
  .prefault({});
export type ApproxPrefixCacheProducerParameters = z.output<typeof approxPrefixCacheProducerParameters>;

/** The plugin object: a producer that records routing decisions at pre-request. */
export interface ApproxPrefixCacheProducer
  extends DataProducerPlugin,
    DataConsumerPlugin,
    PreRequestPlugin,
    EndpointLifecyclePlugin,
    ClosablePlugin {
  /** The index itself (tests, state dumps). */
  readonly index: ApproxPrefixIndex;
  /** Drops endpoints that left the pool; runs every 2 minutes on its own. */
  purgeDepartedEndpoints(): void;
}

/** What produce() leaves for preRequest, per request. */
interface RequestState {
  readonly hashes: Uint32Array;
  readonly blockSizeTokens: number;
}

/**
 * The index block size: the first candidate's engine block size under `autoTune`, else the
 * configured one; never below {@link minimumBlockSizeTokens}.
 */
export function resolveBlockSizeTokens(
  parameters: Pick<ApproxPrefixCacheProducerParameters, 'autoTune'>,
  configuredBlockSizeTokens: number,
  endpoints: ReadonlyArray<EndpointState>,
): number {
  let blockSize = configuredBlockSizeTokens;
  const engineBlockSize = endpoints[0]?.metrics.cacheBlockSize;
  if (parameters.autoTune && engineBlockSize !== undefined && engineBlockSize > 0)
    blockSize = engineBlockSize;
  return Math.max(blockSize, minimumBlockSizeTokens);
}

/** The per-request block cap: the token cap in blocks when set, else the block cap; 0 and 0 mean unlimited. */
export function resolveMaxBlocks(
  parameters: Pick<ApproxPrefixCacheProducerParameters, 'maxPrefixTokensToMatch' | 'maxPrefixBlocksToMatch'>,
  blockSizeTokens: number,
): number {
  if (parameters.maxPrefixTokensToMatch > 0)
    return Math.floor(parameters.maxPrefixTokensToMatch / blockSizeTokens);
  return parameters.maxPrefixBlocksToMatch === 0
    ? Number.POSITIVE_INFINITY
    : parameters.maxPrefixBlocksToMatch;
}

/**
 * Index blocks an endpoint can hold. With `autoTune` and a known `cacheNumBlocks`, the engine's
 * capacity converted to index blocks (`cacheNumBlocks × engineBlock / indexBlock`: engine blocks
 * are usually smaller than the index's 64 tokens, and llm-d's unconverted count overstates
 * capacity up to 4×); otherwise `lruCapacityPerServer`.
 */
export function resolveLruCapacity(
  parameters: Pick<ApproxPrefixCacheProducerParameters, 'autoTune' | 'lruCapacityPerServer'>,
  endpoint: EndpointState,
  indexBlockSizeTokens: number,
): number {
  const { cacheNumBlocks, cacheBlockSize } = endpoint.metrics;
  if (!parameters.autoTune || cacheNumBlocks === undefined || cacheNumBlocks <= 0)
    return parameters.lruCapacityPerServer;
  const engineBlockSize =
    cacheBlockSize !== undefined && cacheBlockSize > 0 ? cacheBlockSize : indexBlockSizeTokens;
  return Math.max(1, Math.floor((cacheNumBlocks * engineBlockSize) / indexBlockSizeTokens));
}

/**
 * llm-d's approximate (speculative) prefix-cache producer: hashes the tokenized prompt into
 * chained blocks, writes how many leading blocks each candidate was recently sent
 * (`PrefixCacheMatchInfo`), and after scheduling records the blocks for the chosen endpoint (and
 * the `prefill` profile's endpoint). Nothing is confirmed by the engines; the index only
 * remembers routing decisions.
 */
export const approxPrefixCacheProducerPlugin = definePlugin({
  type: 'approx-prefix-cache-producer',
  stability: 'Stable',
  parameters: approxPrefixCacheProducerParameters,
  defaultProducerFor: [prefixCacheMatchDataKey('approx-prefix-cache-producer')],
  create: (parameters, handle) => {
    if (parameters.blockSize !== undefined) {
      handle.logger.warn(
        { blockSize: parameters.blockSize },
        "'blockSize' is deprecated; use 'blockSizeTokens' (the value is taken as tokens)",
      );
    }
    const configuredBlockSizeTokens =
      parameters.blockSizeTokens ?? parameters.blockSize ?? defaultBlockSizeTokens;
    if (configuredBlockSizeTokens < minimumBlockSizeTokens) {
      handle.logger.info(
        { blockSizeTokens: configuredBlockSizeTokens, minimum: minimumBlockSizeTokens },
        'blockSizeTokens below the minimum is raised to it (llm-d-router #1158)',
      );
    }
    const attribute = prefixCacheMatchAttribute(handle.name);
    const index = new ApproxPrefixIndex();
    const hasher = new PrefixBlockHasher();
    // Keyed by the request object: entries of requests that never reach preRequest (rejected,
    // failed) are collected with the request instead of leaking.
    const states = new WeakMap<SchedulingRequest, RequestState>();

    const purgeDepartedEndpoints = () => {
      const present = new Set<string>(handle.endpoints().map((state) => state.endpoint.key));
      for (const endpointKey of index.endpointKeys()) {
        if (!present.has(endpointKey)) index.removeEndpoint(endpointKey);
      }
    };
    const purgeTimer = setInterval(purgeDepartedEndpoints, purgeIntervalMilliseconds);
    // The purge must not keep a process alive on its own.
    purgeTimer.unref();

    const record = (hashes: Uint32Array, target: EndpointState, blockSizeTokens: number) => {
      index.add(hashes, target.endpoint.key, resolveLruCapacity(parameters, target, blockSizeTokens));
    };

    const producer: ApproxPrefixCacheProducer = {
      produces: [prefixCacheMatchDataKey(handle.name)],
      consumes: { required: [tokenizedPromptDataKey] },
      index,
      purgeDepartedEndpoints,
      produce(request, endpoints) {
        const blockSizeTokens = resolveBlockSizeTokens(parameters, configuredBlockSizeTokens, endpoints);
        const tokenIds = request.attributes.get(tokenizedPromptAttribute)?.tokenIds ?? [];
        const hashes = hasher.hash(
          tokenIds,
          blockSizeTokens,
          resolveMaxBlocks(parameters, blockSizeTokens),
          request.targetModel,
          request.body?.cacheSalt,
        );
        const totalBlocks = hashes.length / 2;
        const matches = index.match(hashes);
        for (const candidate of endpoints) {
          const info: PrefixCacheMatchInfo = {
            matchBlocks: matches.blocksOf(candidate.endpoint.key),
            totalBlocks,
            blockSizeTokens,
          };
          candidate.attributes.set(attribute, info);
        }
        states.set(request, { hashes, blockSizeTokens });
      },
      preRequest(request, result) {
        const state = states.get(request);
        if (!state) return;
        states.delete(request);
        if (state.hashes.length === 0) return;
        record(state.hashes, result.primary, state.blockSizeTokens);
        const prefill = result.profileResults.get(prefillProfileName)?.targets[0];
        if (prefill && prefill.endpoint.key !== result.primary.endpoint.key) {
          record(state.hashes, prefill, state.blockSizeTokens);
        }
      },
      // Endpoint notifications (when the EPP sends them) purge at once; the timer catches the rest.
      endpointRemoved(endpoint) {
        index.removeEndpoint(endpoint.key);
      },
      close() {
        clearInterval(purgeTimer);
      },
    };
    return producer;
  },
});
