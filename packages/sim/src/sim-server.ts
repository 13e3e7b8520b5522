import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  formatEndpointKey,
  formatKvEventTopic,
  type Logger,
  loadTokenizer,
  noopLogger,
  parseWithSchema,
  type Tokenizer,
} from '@llmd/core';
import { type SimConfig, type SimConfigInput, simConfigSchema } from './config/sim-config.js';
import { SeededRandom } from './engine/seeded-random.js';
import { SimEngine } from './engine/sim-engine.js';
import {
  createKvEventPublisher,
  dataParallelEndpoint,
  type KvEventPublisher,
  kvEventPublisherOptionsFromConfig,
  parseKvEventsConfig,
} from './kv-events/index.js';
import { SimMetrics } from './metrics/sim-metrics.js';
import type { LoraRegistry, SimPodContext } from './server/sim-pod-context.js';
import { routeRequest } from './server/sim-router.js';
import { WordTokenizer } from './tokenizer/word-tokenizer.js';

export interface StartSimServerOptions {
  logger?: Logger;
  /** The process environment the executable read (libraries never read `process.env`). */
  environment?: {
    /** `PYTHONHASHSEED`: the hash seed when `hashSeed` is not configured. */
    pythonHashSeed?: string | undefined;
    /** `POD_IP`: the address in the KV-event topic (default: the listen host). */
    podIp?: string | undefined;
    podName?: string | undefined;
    podNamespace?: string | undefined;
  };
  /** A ready tokenizer (skips loading `config.tokenizer`); lets a cluster share one. */
  tokenizer?: Tokenizer;
}

/** One data-parallel rank: an engine with its own HTTP port, metrics and KV-event stream. */
export interface SimRank {
  readonly rank: number;
  readonly port: number;
  /** `http://host:port`. */
  readonly url: string;
  readonly engine: SimEngine;
  readonly metrics: SimMetrics;
  readonly kvEvents: KvEventPublisher | undefined;
}

export interface SimServer {
  readonly config: SimConfig;
  readonly ranks: ReadonlyArray<SimRank>;
  /** Rank 0's URL. */
  readonly url: string;
  readonly hashSeed: string;
  /** Stop accepting requests, let in-flight ones finish (up to `drainTimeoutMilliseconds`), then stop. */
  close(drainTimeoutMilliseconds?: number): Promise<void>;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Start a simulated vLLM server (one HTTP listener per data-parallel rank). */
export async function startSimServer(
  input: SimConfigInput,
  options: StartSimServerOptions = {},
): Promise<SimServer> {
  const config = parseWithSchema(simConfigSchema, input, 'invalid_config', 'simulator config');
  const logger = options.logger ?? noopLogger;
  const environment = options.environment ?? {};
  const kvEventsConfig = config.kvEventsConfig
    ? parseKvEventsConfig(JSON.stringify(config.kvEventsConfig))
    : undefined;
  // Like vLLM without PYTHONHASHSEED: a random NONE_HASH seed per process.
  const hashSeed = config.hashSeed ?? environment.pythonHashSeed ?? randomBytes(16).toString('hex');
  const servedModelNames = config.servedModelName ?? [config.model];
  const modelName = servedModelNames[0] as string;
  const tokenizer =
    options.tokenizer ??
    (config.tokenizer
      ? await loadTokenizer(config.tokenizer, { modelName, logger })
      : new WordTokenizer(modelName));
  const loras: LoraRegistry = new Map(config.loraModules.map((lora) => [lora.name, { path: lora.path }]));
  const latencyCalculator =
    config.latencyCalculator !== ''
      ? config.latencyCalculator
      : config.timeToFirstToken > 0 &&
          input.prefillTimePerToken === undefined &&
          input.prefillOverhead === undefined
        ? 'constant'
        : 'per-token';
  const readyAt = Date.now() + config.startupDuration / config.timeScale;
  const openResponses = new Set<ServerResponse>();

  const ranks: SimRank[] = [];
  const servers: Server[] = [];
  const publishers: KvEventPublisher[] = [];
  try {
    for (let rank = 0; rank < config.dataParallelSize; rank++) {
      let publisher: KvEventPublisher | undefined;
      const engine = new SimEngine({
        blockSize: config.blockSize,
        numberOfGpuBlocks: config.numGpuBlocks,
        numberOfCpuBlocks: config.cpuOffloadBlocks,
        maximumNumberOfSequences: config.maxNumSeqs,
        maximumWaitingQueueLength: config.maxWaitingQueueLength,
        maximumLoras: config.maxLoras,
        hashAlgorithm: config.prefixCachingHashAlgo,
        hashSeed,
        timeScale: config.timeScale,
        seed: config.seed + rank,
        remoteBlockTimeoutMilliseconds: config.remoteBlockTimeout,
        latency: {
          calculator: latencyCalculator,
          timeToFirstTokenMilliseconds: config.timeToFirstToken,
          timeToFirstTokenStandardDeviationMilliseconds: config.timeToFirstTokenStdDev,
          prefillOverheadMilliseconds: config.prefillOverhead,
          prefillTimePerTokenMilliseconds: config.prefillTimePerToken,
          prefillTimeStandardDeviationMilliseconds: config.prefillTimeStdDev,
          interTokenLatencyMilliseconds: config.interTokenLatency,
          interTokenLatencyStandardDeviationMilliseconds: config.interTokenLatencyStdDev,
          kvCacheTransferLatencyMilliseconds: config.kvCacheTransferLatency,
          kvCacheTransferLatencyStandardDeviationMilliseconds: config.kvCacheTransferLatencyStdDev,
          kvCacheTransferTimePerTokenMilliseconds: config.kvCacheTransferTimePerToken,
          kvCacheTransferTimeStandardDeviationMilliseconds: config.kvCacheTransferTimeStdDev,
          timeFactorUnderLoad: config.timeFactorUnderLoad,
        },
        onKvEvents: (events) => publisher?.publish(events),
        onError: (error) =>
          logger.error(
            { rank, error: error instanceof Error ? error.stack : String(error) },
            'simulated engine step failed',
          ),
      });
      const metrics = new SimMetrics({
        engine,
        modelName,
        engineIndex: rank,
        blockSize: config.blockSize,
        numberOfGpuBlocks: config.numGpuBlocks,
        numberOfCpuBlocks: config.cpuOffloadBlocks,
        hashAlgorithm: config.prefixCachingHashAlgo,
        maximumLoras: config.maxLoras,
      });
      const context: SimPodContext = {
        config,
        rank,
        host:
          environment.podIp ??
          (config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host),
        port: 0,
        engine,
        metrics,
        tokenizer,
        servedModelNames,
        loras,
        random: new SeededRandom(config.seed * 7919 + rank),
        engineId: randomUUID(),
        podName: environment.podName,
        podNamespace: environment.podNamespace,
        logger: logger.child({ rank }),
        isReady: () => Date.now() >= readyAt,
      };
      const server = createServer((request, response) => {
        openResponses.add(response);
        response.on('close', () => openResponses.delete(response));
        request.on('error', () => response.destroy());
        void routeRequest(request, response, context);
      });
      server.on('clientError', (_error, socket) => socket.destroy());
      servers.push(server);
      const port = await listen(server, config.host, config.port === 0 ? 0 : config.port + rank);
      context.port = port;
      const publisherOptions = kvEventsConfig ? kvEventPublisherOptionsFromConfig(kvEventsConfig) : undefined;
      if (publisherOptions) {
        publisher = await createKvEventPublisher({
          ...publisherOptions,
          endpoint: dataParallelEndpoint(publisherOptions.endpoint, rank),
          replayEndpoint: publisherOptions.replayEndpoint
            ? dataParallelEndpoint(publisherOptions.replayEndpoint, rank)
            : null,
          topic:
            publisherOptions.topic || formatKvEventTopic(formatEndpointKey(context.host, port), modelName),
          dataParallelRank: rank,
          format: config.useVllmMapEventFormat ? 'map' : 'array',
          logger: context.logger,
        });
        publishers.push(publisher);
      }
      ranks.push({
        rank,
        port,
        url: `http://${formatEndpointKey(context.host, port)}`,
        engine,
        metrics,
        kvEvents: publisher,
      });
      logger.info({ rank, port, kvEvents: publisher?.endpoint }, 'simulated vLLM rank listening');
    }
  } catch (error) {
    for (const server of servers) server.close();
    for (const rank of ranks) rank.engine.close();
    await Promise.all(publishers.map((publisher) => publisher.close()));
    throw error;
  }

  let closing: Promise<void> | undefined;
  const close = (drainTimeoutMilliseconds = 30_000) => {
    closing ??= (async () => {
      const stopped = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
      for (const server of servers) server.closeIdleConnections();
      const drained = Promise.all(stopped);
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, drainTimeoutMilliseconds).unref());
      await Promise.race([drained, timeout]);
      for (const response of openResponses) response.destroy();
      for (const server of servers) server.closeAllConnections();
      for (const rank of ranks) rank.engine.close();
      await Promise.all(publishers.map((publisher) => publisher.close()));
    })();
    return closing;
  };

  return { config, ranks, url: (ranks[0] as SimRank).url, hashSeed, close };
}
