import { requestKeyAlgorithms } from '@llmd/core';
import { z } from 'zod';
import { durationMillisecondsSchema } from '../../../config/duration.js';

/**
 * Parameters in llm-d's shape (llm-d-kv-cache `docs/configuration.md`, llm-d-router's producer
 * README): `tokenProcessorConfig`, `indexerConfig`, `kvEventsConfig`, `speculativeIndexing`,
 * `speculativeTTL`; plus ours, `remoteIndexUrl`. Every object is strict: a field we do not know is
 * an error, never silently ignored. The three sub-configs stay optional here (defaults are applied
 * by {@link resolvePreciseSettings}) so a remote-index config can refuse local-index settings.
 */

const portSchema = z.number().int().min(1).max(65_535);

export const tokenProcessorConfigSchema = z
  .object({
    /** Tokens per index block. Engines' block sizes must be multiples of it. Default 16. */
    blockSizeTokens: z.number().int().positive().optional(),
    /** The older name of `blockSizeTokens` (still used by llm-d's guides); accepted with a warning. */
    blockSize: z.number().int().positive().optional(),
    /** Seed of the request keys (llm-d `hashSeed`). */
    hashSeed: z.string().default(''),
    /** Request-key algorithm: llm-d's `cbor-fnv` (default) or `xxh64` (llm-d-router). */
    hashAlgorithm: z.enum(requestKeyAlgorithms).default('cbor-fnv'),
  })
  .strict()
  .refine(
    (config) =>
      config.blockSize === undefined ||
      config.blockSizeTokens === undefined ||
      config.blockSize === config.blockSizeTokens,
    { message: 'blockSize and blockSizeTokens disagree; set only blockSizeTokens', path: ['blockSize'] },
  );

export const kvBlockIndexConfigSchema = z
  .object({
    /**
     * llm-d's in-memory bounds. Accepted for config compatibility; our in-memory index needs no key
     * bound (engines' removal events keep it at their cache sizes) and holds every endpoint per key.
     */
    inMemoryConfig: z
      .object({
        size: z.number().int().positive().optional(),
        podCacheSize: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
    /** Share the index through Redis or Valkey (`redis://`, `rediss://`, `valkey://`, `valkeys://`). */
    redisConfig: z
      .object({
        address: z.string().min(1).default('redis://127.0.0.1:6379'),
        backendType: z.enum(['redis', 'valkey']).optional(),
        enableRDMA: z
          .boolean()
          .default(false)
          .refine((enabled) => !enabled, 'RDMA transport is not supported; use TCP'),
      })
      .strict()
      .optional(),
    /** Counts stores, removals, clears (see `metricsLoggingInterval`). */
    enableMetrics: z.boolean().default(false),
    /** With `enableMetrics`, log the index counters this often; 0 = never. */
    metricsLoggingInterval: durationMillisecondsSchema.default(0),
  })
  .strict();

export const indexerConfigSchema = z
  .object({
    kvBlockIndexConfig: kvBlockIndexConfigSchema.prefault({}),
    /** Score weight per device tier (llm-d defaults: gpu 1.0, cpu 0.8). */
    kvCacheBackendConfigs: z
      .array(z.object({ name: z.string().min(1), weight: z.number().min(0) }).strict())
      .optional(),
  })
  .strict();

export const kvEventsConfigSchema = z
  .object({
    /** Central mode (`discoverPods: false`): bind one SUB socket here, e.g. `tcp://*:5557`; engines connect to it. */
    zmqEndpoint: z.string().default(''),
    /** SUB prefix filter on the topic frame. */
    topicFilter: z.string().default('kv@'),
    /** llm-d's event worker count. Accepted; events are applied in order per engine without a worker pool. */
    concurrency: z.number().int().positive().default(4),
    /** Only vLLM's event format is decoded. */
    engineType: z.literal('vllm').default('vllm'),
    /** Dial every endpoint of the pool at `podDiscoveryConfig.socketPort` (per-pod mode). */
    discoverPods: z.boolean().default(true),
    podDiscoveryConfig: z
      .object({
        /** Accepted for compatibility; the pool's endpoints (the InferencePool selector) are dialled. */
        podLabelSelector: z.string().default('llm-d.ai/inference-serving=true'),
        /** Accepted for compatibility, like `podLabelSelector`. */
        podNamespace: z.string().default(''),
        /** The engines' KV-event PUB port (`--kv-events-config` endpoint `tcp://*:<port>`). */
        socketPort: portSchema.default(5557),
        /** The engines' replay ROUTER port (`replay_endpoint`); 0 = no replay. */
        replaySocketPort: z.number().int().min(0).max(65_535).default(0),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .refine((config) => config.discoverPods || /^(tcp|ipc|inproc):\/\/\S+$/.test(config.zmqEndpoint), {
    message: 'with discoverPods: false, zmqEndpoint must be the address to bind, e.g. tcp://*:5557',
    path: ['zmqEndpoint'],
  });

export const precisePrefixCacheProducerParameters = z
  .object({
    tokenProcessorConfig: tokenProcessorConfigSchema.optional(),
    indexerConfig: indexerConfigSchema.optional(),
    kvEventsConfig: kvEventsConfigSchema.optional(),
    /** Seed entries for the chosen endpoint right after routing, until its KV events confirm them. */
    speculativeIndexing: z.boolean().default(false),
    /** How long a speculative entry lives unless confirmed. */
    speculativeTTL: durationMillisecondsSchema.default(2000),
    /**
     * Ours: score against a running `llmd index` (its HTTP `/v1/score`) instead of an index in this
     * process. That index subscribes to the engines itself; local index settings are then refused.
     */
    remoteIndexUrl: z.url({ protocol: /^https?$/ }).optional(),
  })
  .strict()
  .superRefine((parameters, context) => {
    if (parameters.remoteIndexUrl === undefined) return;
    for (const field of ['tokenProcessorConfig', 'indexerConfig', 'kvEventsConfig'] as const) {
      if (parameters[field] !== undefined) {
        context.addIssue({
          code: 'custom',
          path: [field],
          message: `not used with remoteIndexUrl: the remote index has its own ${field}`,
        });
      }
    }
    if (parameters.speculativeIndexing) {
      context.addIssue({
        code: 'custom',
        path: ['speculativeIndexing'],
        message:
          'speculative indexing needs the index in this process; it is not available with remoteIndexUrl',
      });
    }
  })
  .prefault({});
export type PrecisePrefixCacheProducerParameters = z.output<typeof precisePrefixCacheProducerParameters>;

/** Everything the producer needs, defaults applied. */
export interface PreciseSettings {
  readonly blockSizeTokens: number;
  /** The deprecated `tokenProcessorConfig.blockSize` was used. */
  readonly usedDeprecatedBlockSize: boolean;
  readonly tokenProcessor: z.output<typeof tokenProcessorConfigSchema>;
  readonly indexer: z.output<typeof indexerConfigSchema>;
  readonly kvEvents: z.output<typeof kvEventsConfigSchema>;
  readonly speculativeIndexing: boolean;
  readonly speculativeTtlMilliseconds: number;
  readonly remoteIndexUrl: string | undefined;
}

export function resolvePreciseSettings(parameters: PrecisePrefixCacheProducerParameters): PreciseSettings {
  const tokenProcessor = parameters.tokenProcessorConfig ?? tokenProcessorConfigSchema.parse({});
  return {
    blockSizeTokens: tokenProcessor.blockSizeTokens ?? tokenProcessor.blockSize ?? 16,
    usedDeprecatedBlockSize:
      tokenProcessor.blockSize !== undefined && tokenProcessor.blockSizeTokens === undefined,
    tokenProcessor,
    indexer: parameters.indexerConfig ?? indexerConfigSchema.parse({}),
    kvEvents: parameters.kvEventsConfig ?? kvEventsConfigSchema.parse({}),
    speculativeIndexing: parameters.speculativeIndexing,
    speculativeTtlMilliseconds: parameters.speculativeTTL,
    remoteIndexUrl: parameters.remoteIndexUrl,
  };
}
