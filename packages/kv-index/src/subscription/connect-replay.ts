import type { Logger } from '@llmd/core';
import type { DecodedKvEventBatch, KvEventBatchDecoder } from '../events/decode-kv-event-batch.js';
import type { KvEventCounterName } from './kv-event-subscriber-stats.js';
import type { StreamBatch } from './publisher-stream.js';
import type { ReplaySlots } from './replay-slots.js';
import type { ReplayRequester } from './request-replay.js';

/** What the replay after connecting needs from its subscriber; callbacks must not throw. */
export interface ConnectReplayContext {
  /** The engine's replay ROUTER. */
  readonly endpoint: string;
  readonly requestReplay: ReplayRequester;
  readonly replayTimeoutMilliseconds: number;
  readonly replaySlots: ReplaySlots;
  readonly decode: KvEventBatchDecoder;
  /** Aborting (endpoint removed, subscriber closed) ends the replay quietly. */
  readonly signal: AbortSignal;
  /**
   * Hands a replayed batch to the stream of the publisher it names, resolving once that stream
   * has handled it: replayed batches are delivered one at a time, in order.
   */
  readonly accept: (topic: string, batch: StreamBatch) => Promise<void>;
  readonly count: (name: KvEventCounterName) => void;
  readonly malformed: (reason: string) => void;
  readonly logger: Logger;
}

/**
 * Per-pod mode, right after dialling an engine (kv-events.md §8 #3, "replay(0) on connect"): asks
 * its replay socket for everything from sequence 0, so batches it published before this subscriber
 * existed (or lost to the PUB/SUB slow-joiner window) are delivered even if the engine stays idle.
 * An empty buffer delivers nothing.
 *
 * A failure (e.g. the timeout, also when the engine is not listening yet) is counted and logged,
 * and changes nothing else: no publisher is known yet to report it for, and each publisher's first
 * live batch then starts from 0 as before, replaying (with the usual fallback to `uncertain`) when
 * that batch is not sequence 0.
 *
 * Replies without a topic (vLLM before PR #45177) cannot name their publisher, and so their model;
 * the replay stops there and the first live batch triggers the usual replay instead.
 */
export async function runConnectReplay(context: ConnectReplayContext): Promise<void> {
  const { endpoint, signal, logger } = context;
  context.count('replays');
  const release = await context.replaySlots.acquire(signal);
  if (release === undefined) return;
  try {
    const replies = context.requestReplay({
      endpoint,
      startSequence: 0n,
      timeoutMilliseconds: context.replayTimeoutMilliseconds,
      signal,
    });
    for await (const reply of replies) {
      if (signal.aborted) return;
      if (reply.kind === 'malformed') {
        context.malformed(`replay from ${endpoint}: ${reply.reason}`);
        continue;
      }
      if (reply.topic === undefined) {
        logger.debug(
          { replayEndpoint: endpoint },
          'KV-event replay replies carry no topic; leaving the replay to the first live batch',
        );
        return;
      }
      let decoded: DecodedKvEventBatch;
      try {
        decoded = context.decode(reply.payload);
      } catch (error) {
        context.malformed(`replayed batch ${reply.sequence}: ${describeError(error)}`);
        continue;
      }
      await context.accept(reply.topic, { sequence: reply.sequence, decoded });
    }
  } catch (error) {
    if (signal.aborted) return;
    context.count('replayFailures');
    logger.warn(
      { replayEndpoint: endpoint, error: describeError(error) },
      'KV-event replay after connecting failed',
    );
  } finally {
    release();
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
