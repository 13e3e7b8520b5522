import type { Endpoint } from '@llmd/core';
import {
  createRedisKvIndexBackend,
  InMemoryKvIndexBackend,
  KvIndex,
  type KvIndexBackend,
} from '@llmd/kv-index';
import {
  type PrefixCacheMatchInfo,
  prefixCacheMatchAttribute,
  prefixCacheMatchDataKey,
  tokenizedPromptAttribute,
  tokenizedPromptDataKey,
} from '../../../plugin/data-keys.js';
import { definePlugin, type PluginHandle } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';
import type {
  ClosablePlugin,
  DataConsumerPlugin,
  DataProducerPlugin,
  EndpointLifecyclePlugin,
  PreRequestPlugin,
  ReadinessCheckerPlugin,
  ScorerPlugin,
} from '../../../plugin/plugin-interfaces.js';
import type { SchedulingRequest } from '../../../plugin/scheduling-request.js';
import { prefixCacheScore } from '../../scorer/prefix-cache-scorer/prefix-cache-scorer.js';
import { type KvEventFeed, startKvEventFeed } from './kv-event-feed.js';
import {
  type PrecisePrefixCacheProducerParameters,
  type PreciseSettings,
  precisePrefixCacheProducerParameters,
  resolvePreciseSettings,
} from './precise-prefix-cache-parameters.js';
import { createRemoteIndexClient } from './remote-index-client.js';

/** llm-d hard-codes the P/D prefill profile name: its target is seeded speculatively too. */
const prefillProfileName = 'prefill';
/** A remote score must fit in the scheduler's default producer budget (400 ms). */
const remoteScoreTimeoutMilliseconds = 400;

/** The plugin object: producer, speculative pre-request hook, endpoint lifecycle listener. */
export interface PrecisePrefixCacheProducer
  extends DataProducerPlugin,
    DataConsumerPlugin,
    PreRequestPlugin,
    EndpointLifecyclePlugin,
    ReadinessCheckerPlugin,
    ClosablePlugin {
  /** The in-process index once started (undefined in remote mode). */
  readonly index: KvIndex | undefined;
  /** The event subscription once started (undefined in remote mode). */
  readonly feed: KvEventFeed | undefined;
  /** Builds the index backend and subscribes to the engines; the loader calls it once. */
  start(): Promise<void>;
}

/** Tokens of a request kept from produce() for speculative indexing at pre-request. */
interface RequestState {
  readonly tokenIds: ReadonlyArray<number>;
  readonly modelName: string;
}

function tierWeightsOf(settings: PreciseSettings): Record<string, number> | undefined {
  const configs = settings.indexer.kvCacheBackendConfigs;
  if (!configs) return undefined;
  return Object.fromEntries(configs.map((config) => [config.name.toLowerCase(), config.weight]));
}

function createPrecisePrefixCacheProducer(
  parameters: PrecisePrefixCacheProducerParameters,
  handle: PluginHandle,
): PrecisePrefixCacheProducer {
  const settings = resolvePreciseSettings(parameters);
  const logger = handle.logger;
  if (settings.usedDeprecatedBlockSize) {
    // llm-d's own guide config still uses the older name, so this is not worth a warning.
    logger.debug(
      { blockSize: settings.blockSizeTokens },
      "tokenProcessorConfig.blockSize is the older name of 'blockSizeTokens'; use blockSizeTokens",
    );
  }
  const attribute = prefixCacheMatchAttribute(handle.name);
  const remote = settings.remoteIndexUrl
    ? createRemoteIndexClient(settings.remoteIndexUrl, remoteScoreTimeoutMilliseconds)
    : undefined;
  const states = new WeakMap<SchedulingRequest, RequestState>();
  // Endpoints reported before start() finished; followed once the feed exists.
  const known = new Map<string, Endpoint>();
  let index: KvIndex | undefined;
  let backend: KvIndexBackend | undefined;
  let feed: KvEventFeed | undefined;
  let metricsTimer: NodeJS.Timeout | undefined;
  let started = false;
  let closed = false;
  let warnedEstimate = false;

  const writeMatches = (
    endpoints: ReadonlyArray<SchedulingEndpoint>,
    scoreOf: (key: string) => number,
    totalBlocks: number,
    blockSizeTokens: number,
  ) => {
    for (const candidate of endpoints) {
      // Tier-weighted scores (a CPU block counts 0.8) are truncated to whole blocks, as in llm-d.
      const info: PrefixCacheMatchInfo = {
        matchBlocks: Math.min(totalBlocks, Math.trunc(scoreOf(candidate.endpoint.key))),
        totalBlocks,
        blockSizeTokens,
      };
      candidate.attributes.set(attribute, info);
    }
  };

  const speculate = (endpointKey: string, state: RequestState) => {
    index
      ?.speculate(endpointKey, state.modelName, state.tokenIds, settings.speculativeTtlMilliseconds)
      .catch((error: unknown) =>
        logger.warn(
          { endpoint: endpointKey, error: error instanceof Error ? error.message : String(error) },
          'speculative indexing failed',
        ),
      );
  };

  const producer: PrecisePrefixCacheProducer = {
    produces: [prefixCacheMatchDataKey(handle.name)],
    consumes: { required: [tokenizedPromptDataKey] },
    get index() {
      return index;
    },
    get feed() {
      return feed;
    },

    async start() {
      if (started || remote) {
        started = true;
        return;
      }
      const redis = settings.indexer.kvBlockIndexConfig.redisConfig;
      backend = redis
        ? await createRedisKvIndexBackend({ url: redis.address, logger, now: handle.now })
        : new InMemoryKvIndexBackend({ now: handle.now });
      const tierWeights = tierWeightsOf(settings);
      index = new KvIndex({
        backend,
        blockSize: settings.blockSizeTokens,
        requestKeyAlgorithm: settings.tokenProcessor.hashAlgorithm,
        hashSeed: settings.tokenProcessor.hashSeed,
        ...(tierWeights ? { tierWeights } : {}),
        logger,
        now: handle.now,
      });
      feed = await startKvEventFeed(index, settings, logger);
      for (const state of handle.endpoints()) known.set(state.endpoint.key, state.endpoint);
      for (const endpoint of known.values()) feed.follow(endpoint);
      const { enableMetrics, metricsLoggingInterval } = settings.indexer.kvBlockIndexConfig;
      if (enableMetrics && metricsLoggingInterval > 0) {
        const current = index;
        const currentFeed = feed;
        metricsTimer = setInterval(() => {
          logger.info(
            { ...current.counters, ...currentFeed.subscriber.stats().totals },
            'precise prefix index counters',
          );
        }, metricsLoggingInterval);
        metricsTimer.unref();
      }
      started = true;
    },

    checkReady: () => started && !closed,

    endpointAdded(endpoint) {
      known.set(endpoint.key, endpoint);
      feed?.follow(endpoint);
    },

    endpointRemoved(endpoint) {
      known.delete(endpoint.key);
      feed
        ?.forget(endpoint)
        .catch((error: unknown) =>
          logger.error(
            { endpoint: endpoint.key, error: error instanceof Error ? error.message : String(error) },
            'clearing a removed endpoint failed',
          ),
        );
    },

    async produce(request, endpoints) {
      const tokenized = request.attributes.get(tokenizedPromptAttribute);
      const tokenIds = tokenized?.tokenIds ?? [];
      if (tokenized?.source === 'estimate' && !warnedEstimate) {
        warnedEstimate = true;
        logger.warn(
          {},
          'precise prefix-cache routing got estimated tokens (4 bytes per pseudo-token), which never match engine blocks: configure a token-producer with a tokenizer or vllm backend',
        );
      }
      if (tokenIds.length === 0) {
        writeMatches(endpoints, () => 0, 0, settings.blockSizeTokens);
        return;
      }
      const modelName = request.targetModel;
      const candidates = endpoints.map((candidate) => candidate.endpoint.key);
      if (remote) {
        const result = await remote.score(tokenIds, modelName, candidates, request.signal);
        writeMatches(endpoints, (key) => result.scores[key] ?? 0, result.totalBlocks, result.blockSize);
        return;
      }
      if (!index) throw new Error('the precise prefix index is not started');
      const result = await index.scoreTokens(tokenIds, modelName, { candidates });
      writeMatches(endpoints, (key) => result.scores[key] ?? 0, result.totalBlocks, result.blockSize);
      if (settings.speculativeIndexing) states.set(request, { tokenIds, modelName });
    },

    preRequest(request, result) {
      const state = states.get(request);
      if (!state) return;
      states.delete(request);
      speculate(result.primary.endpoint.key, state);
      const prefill = result.profileResults.get(prefillProfileName)?.targets[0];
      if (prefill && prefill.endpoint.key !== result.primary.endpoint.key)
        speculate(prefill.endpoint.key, state);
    },

    async close() {
      if (closed) return;
      closed = true;
      if (metricsTimer) clearInterval(metricsTimer);
      await feed?.close();
      await backend?.close();
    },
  };
  return producer;
}

/**
 * llm-d's `precise-prefix-cache-producer`: prefix matches from the engines' own KV events
 * (kv-events.md, block-hashing.md) instead of remembered routing decisions. It subscribes to every
 * endpoint's KV-event socket, indexes the blocks each engine reports, and writes
 * `PrefixCacheMatchInfo` (blocks the endpoint holds, from the first) on every candidate. Needs real
 * token ids: pair it with a `token-producer` using the `vllm` or `tokenizer` backend.
 */
export const precisePrefixCacheProducerPlugin = definePlugin({
  type: 'precise-prefix-cache-producer',
  stability: 'Stable',
  parameters: precisePrefixCacheProducerParameters,
  create: (parameters, handle) => createPrecisePrefixCacheProducer(parameters, handle),
  initialize: (plugin) => (plugin as PrecisePrefixCacheProducer).start(),
});

/**
 * The older all-in-one type: the same producer, also usable as a scorer in a profile (match ratio
 * of its own data, as `prefix-cache-scorer` with default parameters would score it).
 */
export const precisePrefixCacheScorerPlugin = definePlugin({
  type: 'precise-prefix-cache-scorer',
  stability: 'Stable',
  deprecated: { replacement: 'precise-prefix-cache-producer' },
  parameters: precisePrefixCacheProducerParameters,
  create: (parameters, handle): PrecisePrefixCacheProducer & ScorerPlugin => {
    const producer = createPrecisePrefixCacheProducer(parameters, handle);
    const attribute = prefixCacheMatchAttribute(handle.name);
    const scoring = { matchLengthWeight: 0, matchLengthScaleTokens: 8192 };
    return Object.assign(producer, {
      category: 'Affinity' as const,
      score(_request: SchedulingRequest, endpoints: ReadonlyArray<SchedulingEndpoint>) {
        const scores = new Map<SchedulingEndpoint, number>();
        for (const candidate of endpoints)
          scores.set(candidate, prefixCacheScore(candidate.attributes.get(attribute), scoring));
        return scores;
      },
    });
  },
  initialize: (plugin) => (plugin as PrecisePrefixCacheProducer).start(),
});
