import { LlmdError, type Logger } from '@llmd/core';
import { Router } from 'zeromq';
import { describeError } from './describe-error.js';
import { decodeSequenceFrame, encodeSequenceFrame, endOfReplaySequence } from './sequence-frame.js';

/** One buffered batch: its sequence number and its encoded payload. */
export interface ReplayEntry {
  readonly sequence: number;
  readonly payload: Uint8Array;
}

export interface ReplayServerOptions {
  /** Always bound: the replay socket is a service that indexers dial (vLLM binds it unconditionally). */
  readonly endpoint: string;
  readonly topic: string;
  /** The replayable batches with a sequence number ≥ `startSequence`, oldest first. */
  readonly entriesFrom: (startSequence: bigint) => ReadonlyArray<ReplayEntry>;
  /** Per-client send queue; large enough for a full replay so ZeroMQ does not truncate one. */
  readonly sendHighWaterMark: number;
  readonly logger: Logger;
}

export interface ReplayServerStats {
  readonly replayRequests: number;
  readonly invalidReplayRequests: number;
}

export interface ReplayServer {
  /** The bound endpoint, with a wildcard port resolved to the port actually chosen. */
  readonly endpoint: string;
  readonly stats: ReplayServerStats;
  close(): Promise<void>;
}

const emptyFrame = (): Buffer => Buffer.alloc(0);

/**
 * Serves replay requests on a ROUTER socket (kv-events.md §4.4, simulator.md §8). A DEALER sends
 * `["", start_seq]`; the answer is one PUB-shaped message `["", topic, seq, payload]` per buffered
 * batch from `start_seq` on, then the end marker `["", "", ff×8, ""]`.
 */
export async function startReplayServer(options: ReplayServerOptions): Promise<ReplayServer> {
  const { logger } = options;
  // `mandatory` turns "peer gone" into an error instead of a silent drop, so an abandoned replay
  // stops early, and a full peer queue makes `send` wait instead of truncating the replay.
  const router = new Router({ mandatory: true, sendHighWaterMark: options.sendHighWaterMark });
  try {
    await router.bind(options.endpoint);
  } catch (error) {
    router.linger = 0;
    router.close();
    throw new LlmdError(
      'invalid_config',
      `cannot bind the KV-event replay socket to ${options.endpoint}: ${describeError(error)}`,
      { cause: error, path: 'replayEndpoint' },
    );
  }
  const endpoint = router.lastEndpoint ?? options.endpoint;
  const topicFrame = Buffer.from(options.topic, 'utf8');
  let replayRequests = 0;
  let invalidReplayRequests = 0;

  async function answer(clientId: Buffer, startSequence: bigint): Promise<void> {
    // Snapshot before the first await: batches published while this replay is being sent belong
    // to the live stream, and the buffer may evict entries in the meantime.
    const entries = options.entriesFrom(startSequence);
    for (const entry of entries) {
      await router.send([
        clientId,
        emptyFrame(),
        topicFrame,
        encodeSequenceFrame(entry.sequence),
        entry.payload,
      ]);
    }
    await router.send([
      clientId,
      emptyFrame(),
      emptyFrame(),
      encodeSequenceFrame(endOfReplaySequence),
      emptyFrame(),
    ]);
    logger.debug(
      { startSequence: startSequence.toString(), batches: entries.length },
      'KV-event replay served',
    );
  }

  async function serve(): Promise<void> {
    for await (const frames of router) {
      const [clientId, delimiter, startFrame] = frames;
      const startSequence = startFrame === undefined ? undefined : decodeSequenceFrame(startFrame);
      if (
        frames.length !== 3 ||
        clientId === undefined ||
        delimiter?.length !== 0 ||
        startSequence === undefined
      ) {
        invalidReplayRequests += 1;
        logger.warn(
          { frameCount: frames.length, frameSizes: frames.map((frame) => frame.length) },
          'ignoring malformed KV-event replay request (expected ["", 8-byte start sequence] from a DEALER)',
        );
        continue;
      }
      replayRequests += 1;
      try {
        await answer(clientId, startSequence);
      } catch (error) {
        if (router.closed) return;
        // Typically EHOSTUNREACH: the client disconnected mid-replay; nothing to recover.
        logger.debug({ error: describeError(error) }, 'KV-event replay aborted');
      }
    }
  }

  const serving = serve().catch((error: unknown) => {
    if (!router.closed) logger.error({ error: describeError(error) }, 'KV-event replay socket failed');
  });
  let closing: Promise<void> | undefined;

  return {
    endpoint,
    get stats(): ReplayServerStats {
      return { replayRequests, invalidReplayRequests };
    },
    close(): Promise<void> {
      closing ??= (async () => {
        router.linger = 0;
        router.close();
        await serving;
      })();
      return closing;
    },
  };
}
