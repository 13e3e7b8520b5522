import {
  engineHashAlgorithms,
  type Logger,
  loadTokenizer,
  noopLogger,
  parseEndpointKey,
  parseWithSchema,
  requestKeyAlgorithms,
  type Tokenizer,
} from '@llmd/core';
import { z } from 'zod';
import { InMemoryKvIndexBackend } from './index/in-memory-kv-index-backend.js';
import type { KvIndexBackend } from './index/kv-index-backend.js';
import { createRedisKvIndexBackend } from './index/redis/index.js';
import { KvIndex } from './ingest/kv-index.js';
import {
  type EndpointStreamState,
  type KvIndexService,
  startKvIndexService,
} from './service/kv-index-service.js';
import {
  createKvEventSubscriber,
  type KvEventEndpointTarget,
  type KvEventSubscriber,
} from './subscription/index.js';

/** `ip:port=tcp://host:5557[|tcp://host:5558]`: an engine to dial in per-pod mode (with its replay socket). */
const podEventEndpointSchema = z.string().transform((value, context) => {
  const match = /^([^=]+)=((?:tcp|ipc|inproc):\/\/[^|]+)(?:\|((?:tcp|ipc|inproc):\/\/\S+))?$/.exec(
    value.trim(),
  );
  if (!match) {
    context.addIssue({
      code: 'custom',
      message: `"${value}" is not ip:port=tcp://host:port[|tcp://host:replayPort]`,
    });
    return z.NEVER;
  }
  return { endpointKey: match[1] as string, eventsEndpoint: match[2] as string, replayEndpoint: match[3] };
});

/** `tier=weight`, e.g. `cpu=0.8`. */
const tierWeightSchema = z.string().transform((value, context) => {
  const match = /^([a-z][a-z0-9_-]*)=(\d+(?:\.\d+)?)$/i.exec(value.trim());
  if (!match) {
    context.addIssue({ code: 'custom', message: `"${value}" is not tier=weight (for example cpu=0.8)` });
    return z.NEVER;
  }
  return [(match[1] as string).toLowerCase(), Number(match[2])] as const;
});

/** `tier:ttl=<ms>` and/or `max=<blocks>`, e.g. `cpu:ttl=600000,max=200000` (tiers without removal events, like LMCache). */
const storeOnlyTierSchema = z.string().transform((value, context) => {
  const match = /^([a-z][a-z0-9_-]*):((?:ttl|max)=\d+)(?:,((?:ttl|max)=\d+))?$/i.exec(value.trim());
  if (!match) {
    context.addIssue({
      code: 'custom',
      message: `"${value}" is not tier:ttl=<ms>[,max=<blocks>] (for example cpu:ttl=600000,max=200000)`,
    });
    return z.NEVER;
  }
  const bound: { ttlMilliseconds?: number; maxBlocks?: number } = {};
  for (const part of [match[2], match[3]]) {
    if (!part) continue;
    const [name, number] = part.split('=') as [string, string];
    if (name.toLowerCase() === 'ttl') bound.ttlMilliseconds = Number(number);
    else bound.maxBlocks = Number(number);
  }
  return [(match[1] as string).toLowerCase(), bound] as const;
});

/** Every `llmd index` setting; keys are the camelCase of the flags. */
export const kvIndexServerConfigSchema = z
  .object({
    host: z.string().default('127.0.0.1').describe('address the HTTP and gRPC servers listen on'),
    httpPort: z.coerce
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(8080)
      .describe('HTTP port (/v1/score, /v1/endpoints, /metrics, /health)'),
    grpcPort: z.coerce
      .number()
      .int()
      .min(0)
      .max(65535)
      .optional()
      .describe('gRPC port for indexer.v1.IndexerService (off when unset)'),
    zmqBind: z
      .string()
      .optional()
      .describe('central mode: bind one SUB socket here (e.g. tcp://*:5557); engines connect to it'),
    podEventEndpoints: z
      .array(podEventEndpointSchema)
      .default([])
      .describe('per-pod mode: engines to dial, ip:port=tcp://host:5557[|tcp://host:5558]'),
    replayPort: z.coerce
      .number()
      .int()
      .min(1)
      .max(65535)
      .optional()
      .describe("central mode: engines' replay ROUTER port (on the endpoint's address)"),
    blockSize: z.coerce
      .number()
      .int()
      .positive()
      .default(16)
      .describe('tokens per index block (llm-d blockSizeTokens)'),
    hashSeed: z
      .string()
      .default('')
      .describe('seed of the request keys (llm-d hashSeed); also the engine seed for --engine-hash-algo'),
    requestKeyAlgo: z
      .enum(requestKeyAlgorithms)
      .default('cbor-fnv')
      .describe('request-key algorithm (llm-d hashAlgorithm)'),
    engineHashAlgo: z
      .enum(engineHashAlgorithms)
      .optional()
      .describe("the engines' --prefix-caching-hash-algo: verify their hashes and report mismatches"),
    engineHashSeed: z
      .string()
      .optional()
      .describe("the engines' PYTHONHASHSEED for verification (default: --hash-seed)"),
    tokenizer: z
      .string()
      .optional()
      .describe('tokenizer for "prompt" and "messages" requests (file, folder or cached model)'),
    redisUrl: z.string().optional().describe('share the index through Redis/Valkey (redis://, valkey://)'),
    tierWeights: z
      .array(tierWeightSchema)
      .default([])
      .describe('score weight per tier, tier=weight (defaults gpu=1, cpu=0.8)'),
    storeOnlyTiers: z
      .array(storeOnlyTierSchema)
      .default([])
      .describe('bound tiers that send no removals (LMCache): tier:ttl=<ms>[,max=<blocks per endpoint>]'),
    speculativeTtl: z.coerce
      .number()
      .int()
      .positive()
      .default(2000)
      .describe('ms a speculative entry lives unless confirmed'),
  })
  .strict()
  .refine((config) => config.zmqBind !== undefined || config.podEventEndpoints.length > 0, {
    message: 'give --zmq-bind (central mode) or --pod-event-endpoints (per-pod mode)',
    path: ['zmqBind'],
  });

export type KvIndexServerConfigInput = z.input<typeof kvIndexServerConfigSchema>;

export interface KvIndexServer {
  readonly index: KvIndex;
  readonly service: KvIndexService;
  readonly subscriber: KvEventSubscriber;
  /** The bound ZeroMQ endpoint in central mode. */
  readonly zmqEndpoint: string | undefined;
  /** Per-pod mode: start following an engine that discovery reported. */
  addEndpoint(target: KvEventEndpointTarget): void;
  /** Stop following an engine and forget everything it held (O(1) in the index size). */
  removeEndpoint(endpointKey: string): Promise<void>;
  close(): Promise<void>;
}

/** Compose backend, index, event subscriber and service, as `llmd index` runs them. */
export async function startKvIndexServer(
  input: KvIndexServerConfigInput,
  options: { logger?: Logger; tokenizer?: Tokenizer } = {},
): Promise<KvIndexServer> {
  const config = parseWithSchema(kvIndexServerConfigSchema, input, 'invalid_config', 'index config');
  const logger = options.logger ?? noopLogger;
  const backend: KvIndexBackend = config.redisUrl
    ? await createRedisKvIndexBackend({ url: config.redisUrl, logger })
    : new InMemoryKvIndexBackend();
  const tokenizer =
    options.tokenizer ?? (config.tokenizer ? await loadTokenizer(config.tokenizer, { logger }) : undefined);
  const index = new KvIndex({
    backend,
    blockSize: config.blockSize,
    hashSeed: config.hashSeed,
    requestKeyAlgorithm: config.requestKeyAlgo,
    tierWeights: Object.fromEntries(config.tierWeights),
    storeOnlyTiers: Object.fromEntries(config.storeOnlyTiers),
    ...(config.engineHashAlgo
      ? {
          engineHashing: { algorithm: config.engineHashAlgo, seed: config.engineHashSeed ?? config.hashSeed },
        }
      : {}),
    logger,
  });
  // A restart clears the engine's entries before its new process's batches are indexed: the clear
  // runs at once, and that stream's next batch waits for it. Failures (Redis down) are logged.
  const pendingClears = new Map<string, Promise<void>>();
  const streamKey = (endpointKey: string, dataParallelRank: number | null) =>
    `${endpointKey}|${dataParallelRank ?? ''}`;
  const common = {
    onBatch: async (delivery: {
      endpointKey: string;
      modelName: string;
      dataParallelRank: number | null;
      batch: Parameters<KvIndex['ingest']>[0]['batch'];
    }) => {
      const key = streamKey(delivery.endpointKey, delivery.dataParallelRank);
      const clear = pendingClears.get(key);
      if (clear) {
        await clear;
        pendingClears.delete(key);
      }
      await index.ingest({
        endpointKey: delivery.endpointKey,
        modelName: delivery.modelName,
        batch: delivery.batch,
      });
    },
    onRestart: (endpointKey: string, publisher: { dataParallelRank: number | null }) => {
      const clear = index.clearEndpoint(endpointKey, publisher.dataParallelRank).catch((error: unknown) => {
        logger.error(
          { endpoint: endpointKey, error: error instanceof Error ? error.message : String(error) },
          'clearing a restarted engine failed',
        );
      });
      pendingClears.set(streamKey(endpointKey, publisher.dataParallelRank), clear);
    },
    onUncertain: (endpointKey: string) =>
      logger.warn(
        { endpoint: endpointKey },
        'KV events were lost for good: scores for this endpoint may be stale until it restarts',
      ),
    logger,
  };
  const subscriber = config.zmqBind
    ? await createKvEventSubscriber({
        ...common,
        mode: 'central',
        bindEndpoint: config.zmqBind,
        replayEndpoints: (endpointKey, publisher) => {
          if (config.replayPort === undefined) return undefined;
          const { address } = parseEndpointKey(endpointKey);
          // vLLM offsets the replay port by the data-parallel rank, like the events port.
          const port = config.replayPort + (publisher.dataParallelRank ?? 0);
          return `tcp://${address.includes(':') ? `[${address}]` : address}:${port}`;
        },
      })
    : await createKvEventSubscriber({ ...common, mode: 'per-pod' });
  if (!config.zmqBind)
    for (const endpoint of config.podEventEndpoints) await subscriber.addEndpoint(endpoint);

  const endpointStreams = () =>
    new Map<string, EndpointStreamState>(
      subscriber.stats().endpoints.map((endpoint) => [
        endpoint.endpointKey,
        {
          lastSequence: endpoint.lastSequence === null ? null : Number(endpoint.lastSequence),
          state: endpoint.state,
          lastEventAt: endpoint.lastEventTime,
        },
      ]),
    );
  const service = await startKvIndexService({
    index,
    backend,
    ...(tokenizer ? { tokenizer } : {}),
    host: config.host,
    httpPort: config.httpPort,
    ...(config.grpcPort !== undefined ? { grpcPort: config.grpcPort } : {}),
    subscriberCounters: () => {
      const totals = subscriber.stats().totals;
      return {
        batches: totals.batches,
        events: totals.events,
        gaps: totals.gaps,
        replays: totals.replays,
        restarts: totals.restarts,
        malformed: totals.malformed,
        unknownEventTags: totals.unknownEventTags,
        droppedBatches: totals.droppedBatches,
        uncertainties: totals.uncertainties,
        handlerErrors: totals.handlerErrors,
      };
    },
    endpointStreams,
    logger,
  });
  return {
    index,
    service,
    subscriber,
    zmqEndpoint: config.zmqBind ? subscriber.endpoint : undefined,
    addEndpoint: (target) => subscriber.addEndpoint(target),
    removeEndpoint: async (endpointKey) => {
      subscriber.removeEndpoint(endpointKey);
      await index.clearEndpoint(endpointKey);
    },
    close: async () => {
      await subscriber.close();
      await service.close();
      await backend.close();
    },
  };
}
