import { type KvEvent, LlmdError, type Logger, noopLogger, parseWithSchema } from '@llmd/core';
import { Publisher } from 'zeromq';
import { z } from 'zod';
import { BoundedFifo } from './bounded-fifo.js';
import { describeError } from './describe-error.js';
import { encodeKvEventBatch, type KvEventWireFormat } from './encode-kv-event-batch.js';
import { type ReplayEntry, type ReplayServer, startReplayServer } from './replay-server.js';
import { encodeSequenceFrame } from './sequence-frame.js';
import { shouldBindEndpoint } from './should-bind-endpoint.js';
import { zmqEndpointSchema } from './zmq-endpoint-schema.js';

export interface KvEventPublisherOptions {
  /** PUB endpoint; bound or connected following vLLM's rule (see `shouldBindEndpoint`). */
  readonly endpoint: string;
  /** Frame-0 topic, e.g. `kv@10.0.0.7:8000@Qwen/Qwen3-32B` (default empty, as in vLLM). */
  readonly topic?: string;
  /** ROUTER endpoint for replay requests; replay is off when absent or null. */
  readonly replayEndpoint?: string | null;
  /** Batches kept for replay (vLLM `buffer_steps`, default 10,000). */
  readonly bufferSteps?: number;
  /** ZeroMQ send high-water mark (default 100,000; 0 means unlimited). */
  readonly hwm?: number;
  /** Batches waiting for the socket before new ones are dropped (default 100,000). */
  readonly maxQueueSize?: number;
  /** Stamped on every batch; vLLM stamps 0 for single-rank engines, so that is the default. */
  readonly dataParallelRank?: number | null;
  /** Event encoding (default `array`, the simulator's default). */
  readonly format?: KvEventWireFormat;
  /** Clock in milliseconds since the epoch, for the batch timestamp (default `Date.now`). */
  readonly now?: () => number;
  readonly logger?: Logger;
}

export interface KvEventPublisherStats {
  /** Batches handed to the PUB socket (ZeroMQ itself may still drop them at the high-water mark). */
  readonly publishedBatches: number;
  /** Batches refused because the in-process queue was full. */
  readonly droppedBatches: number;
  /** Batches waiting in the in-process queue. */
  readonly queuedBatches: number;
  readonly sendFailures: number;
  readonly replayRequests: number;
  readonly invalidReplayRequests: number;
  /** The sequence number the next batch will get. */
  readonly nextSequence: number;
}

export interface KvEventPublisher {
  /** The live endpoint; for binds the one actually bound (wildcard ports resolved). */
  readonly endpoint: string;
  readonly replayEndpoint: string | null;
  readonly topic: string;
  /**
   * Publishes one scheduler step's events as one batch. Never blocks: the batch is encoded and
   * queued; a full queue drops it. Empty lists are skipped (vLLM publishes only non-empty batches).
   */
  publish(events: ReadonlyArray<KvEvent>): void;
  /** Resolves once every batch queued so far has been handed to the socket. */
  flush(): Promise<void>;
  /** Sends what is queued, then closes the sockets without lingering. Idempotent. */
  close(): Promise<void>;
  readonly stats: KvEventPublisherStats;
}

const optionsSchema = z.object({
  endpoint: zmqEndpointSchema,
  topic: z.string().default(''),
  replayEndpoint: zmqEndpointSchema.nullable().default(null),
  bufferSteps: z.int().positive().default(10_000),
  hwm: z.int().nonnegative().default(100_000),
  maxQueueSize: z.int().positive().default(100_000),
  dataParallelRank: z.int().nonnegative().nullable().default(0),
  format: z.enum(['array', 'map']).default('array'),
  now: z.custom<() => number>((value) => typeof value === 'function', 'expected a function').optional(),
  logger: z.custom<Logger>((value) => typeof value === 'object' && value !== null).optional(),
});

interface QueuedBatch {
  readonly sequence: number;
  readonly payload: Uint8Array;
}

/**
 * Creates vLLM's ZMQ KV-event publisher (kv-events.md §4): a PUB socket sending
 * `[topic, seq, payload]`, fed by a bounded in-process queue so the engine loop never waits on I/O,
 * plus an optional ROUTER replay socket.
 *
 * Sequence numbers are assigned when a batch is published, including batches the full queue then
 * drops, and every batch enters the replay buffer: a consumer sees the loss as a sequence gap and
 * can fill it by replay, instead of silently holding a stale index.
 */
export async function createKvEventPublisher(options: KvEventPublisherOptions): Promise<KvEventPublisher> {
  const settings = parseWithSchema(optionsSchema, options, 'invalid_argument', 'kv event publisher options');
  const logger = (settings.logger ?? noopLogger).child({ component: 'kv-event-publisher' });
  const now = settings.now ?? Date.now;
  const topicFrame = Buffer.from(settings.topic, 'utf8');

  const socket = new Publisher({ sendHighWaterMark: settings.hwm });
  const endpoint = await openPublisherSocket(socket, settings.endpoint, logger);

  const replayBuffer =
    settings.replayEndpoint === null ? undefined : new BoundedFifo<ReplayEntry>(settings.bufferSteps);
  let replayServer: ReplayServer | undefined;
  if (settings.replayEndpoint !== null) {
    try {
      replayServer = await startReplayServer({
        endpoint: settings.replayEndpoint,
        topic: settings.topic,
        entriesFrom: (startSequence) => replayableEntries(startSequence),
        sendHighWaterMark: settings.bufferSteps + 1,
        logger,
      });
    } catch (error) {
      socket.linger = 0;
      socket.close();
      throw error;
    }
  }

  const queue = new BoundedFifo<QueuedBatch>(settings.maxQueueSize);
  let nextSequence = 0;
  /** Highest sequence the live loop has finished with; replay stops there (see `replayableEntries`). */
  let lastHandledSequence = -1;
  let publishedBatches = 0;
  let droppedBatches = 0;
  let sendFailures = 0;
  let overflowing = false;
  let closing = false;
  let sending = false;
  let wakeDrainLoop: (() => void) | undefined;
  let flushWaiters: Array<() => void> = [];

  /**
   * Replay only what the live stream has already carried: answering with a batch that is still
   * queued would deliver it twice, and a consumer may read the second copy as an engine restart.
   */
  function replayableEntries(startSequence: bigint): ReplayEntry[] {
    const entries: ReplayEntry[] = [];
    if (replayBuffer === undefined) return entries;
    for (const entry of replayBuffer) {
      if (entry.sequence > lastHandledSequence) break;
      if (BigInt(entry.sequence) >= startSequence) entries.push(entry);
    }
    return entries;
  }

  function settleFlushWaiters(): void {
    const waiters = flushWaiters;
    flushWaiters = [];
    for (const resolve of waiters) resolve();
  }

  async function drainLoop(): Promise<void> {
    for (;;) {
      const batch = queue.shift();
      if (batch === undefined) {
        settleFlushWaiters();
        if (closing) return;
        await new Promise<void>((resolve) => {
          wakeDrainLoop = resolve;
        });
        wakeDrainLoop = undefined;
        continue;
      }
      sending = true;
      try {
        await socket.send([topicFrame, encodeSequenceFrame(batch.sequence), batch.payload]);
        publishedBatches += 1;
      } catch (error) {
        sendFailures += 1;
        logger.error({ sequence: batch.sequence, error: describeError(error) }, 'KV-event batch send failed');
      } finally {
        sending = false;
        lastHandledSequence = batch.sequence;
      }
    }
  }

  const draining = drainLoop();
  let closed: Promise<void> | undefined;

  return {
    endpoint,
    replayEndpoint: replayServer?.endpoint ?? null,
    topic: settings.topic,

    publish(events: ReadonlyArray<KvEvent>): void {
      if (closing || events.length === 0) return;
      const payload = encodeKvEventBatch(
        { timestamp: now() / 1000, events, dataParallelRank: settings.dataParallelRank },
        { format: settings.format },
      );
      const sequence = nextSequence;
      nextSequence += 1;
      replayBuffer?.pushEvictingOldest({ sequence, payload });
      if (queue.push({ sequence, payload })) {
        overflowing = false;
        wakeDrainLoop?.();
        return;
      }
      droppedBatches += 1;
      // One warning per overflow episode: a stalled socket would otherwise log once per step.
      if (!overflowing) {
        overflowing = true;
        logger.warn(
          { sequence, maxQueueSize: settings.maxQueueSize },
          'KV-event queue full; dropping batches until it drains',
        );
      }
    },

    flush(): Promise<void> {
      if (queue.length === 0 && !sending) return Promise.resolve();
      return new Promise<void>((resolve) => {
        flushWaiters.push(resolve);
      });
    },

    close(): Promise<void> {
      closed ??= (async () => {
        closing = true;
        wakeDrainLoop?.();
        await draining;
        socket.linger = 0;
        socket.close();
        await replayServer?.close();
        queue.clear();
        replayBuffer?.clear();
      })();
      return closed;
    },

    get stats(): KvEventPublisherStats {
      return {
        publishedBatches,
        droppedBatches,
        queuedBatches: queue.length,
        sendFailures,
        replayRequests: replayServer?.stats.replayRequests ?? 0,
        invalidReplayRequests: replayServer?.stats.invalidReplayRequests ?? 0,
        nextSequence,
      };
    },
  };
}

/** Binds or connects `socket`; returns the endpoint to report (the resolved one for binds). */
async function openPublisherSocket(socket: Publisher, endpoint: string, logger: Logger): Promise<string> {
  const bind = shouldBindEndpoint(endpoint);
  try {
    if (bind) await socket.bind(endpoint);
    else socket.connect(endpoint);
  } catch (error) {
    socket.linger = 0;
    socket.close();
    throw new LlmdError(
      'invalid_config',
      `cannot ${bind ? 'bind' : 'connect'} the KV-event publisher socket to ${endpoint}: ${describeError(error)}`,
      { cause: error, path: 'endpoint' },
    );
  }
  const resolved = bind ? (socket.lastEndpoint ?? endpoint) : endpoint;
  logger.debug({ endpoint: resolved, mode: bind ? 'bind' : 'connect' }, 'KV-event publisher socket open');
  return resolved;
}
