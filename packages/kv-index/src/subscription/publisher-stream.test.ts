import { noopLogger } from '@llmd/core';
import { encodeKvEventBatch } from '@llmd/sim';
import { describe, expect, it } from 'vitest';
import { createKvEventBatchDecoder } from '../events/decode-kv-event-batch.js';
import type { KvEventUncertainty } from './kv-event-delivery.js';
import { type KvEventCounterName, type MutableCounters, zeroCounters } from './kv-event-subscriber-stats.js';
import { PublisherStream, type StreamBatch } from './publisher-stream.js';
import { ReplaySlots } from './replay-slots.js';
import type { ReplayItem, ReplayRequester } from './request-replay.js';

const topic = 'kv@10.0.0.7:8000@m';
const decode = createKvEventBatchDecoder();

/** A batch whose single event names its sequence, so deliveries can be checked by content too. */
function payload(sequence: number, dataParallelRank: number | null = 0): Uint8Array {
  return encodeKvEventBatch(
    {
      timestamp: sequence,
      dataParallelRank,
      events: [{ type: 'BlockRemoved', blockHashes: [BigInt(sequence)], medium: 'GPU' }],
    },
    { format: 'array' },
  );
}

function live(sequence: number): StreamBatch {
  return { sequence: BigInt(sequence), decoded: decode(payload(sequence)) };
}

function replayed(sequence: number, replyTopic: string | undefined = topic): ReplayItem {
  return { kind: 'batch', topic: replyTopic, sequence: BigInt(sequence), payload: payload(sequence) };
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve = (): void => {};
  const promise = new Promise<void>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

interface HarnessOptions {
  replayEndpoint?: string;
  /** Replies per start sequence; an Error makes the replay fail after yielding nothing. */
  replies?: (startSequence: bigint) => ReadonlyArray<ReplayItem> | Error;
  /** When set, the replay waits for this before answering. */
  gate?: Promise<void>;
  maxQueuedBatches?: number;
}

function harness(options: HarnessOptions = {}) {
  const log: string[] = [];
  const replayRequests: bigint[] = [];
  const uncertainties: KvEventUncertainty[] = [];
  const counters: MutableCounters = zeroCounters();
  const requestReplay: ReplayRequester = async function* ({ startSequence }) {
    replayRequests.push(startSequence);
    await options.gate;
    const replies = options.replies?.(startSequence) ?? [];
    if (replies instanceof Error) throw replies;
    yield* replies;
  };
  const stream = new PublisherStream({
    identity: { endpointKey: '10.0.0.7:8000', modelName: 'm', topic, dataParallelRank: 0 },
    maxQueuedBatches: options.maxQueuedBatches ?? 100,
    decode,
    replayEndpoint: () => options.replayEndpoint,
    requestReplay,
    replayTimeoutMilliseconds: 1_000,
    replaySlots: new ReplaySlots(1),
    count: (name: KvEventCounterName, amount = 1) => {
      counters[name] += amount;
    },
    deliver: async (delivery) => {
      const [event] = delivery.batch.events;
      // The content must match the sequence: proves the right payload travelled with it.
      const content = event?.type === 'BlockRemoved' ? event.blockHashes[0] : undefined;
      expect(content).toBe(delivery.sequence);
      log.push(`${delivery.replayed ? 'replayed' : 'live'} ${delivery.sequence}`);
    },
    uncertain: (uncertainty) => {
      uncertainties.push(uncertainty);
      log.push(`uncertain ${uncertainty.expected}→${uncertainty.received}`);
    },
    restarted: () => log.push('restart'),
    malformed: (reason) => log.push(`malformed ${reason}`),
    logger: noopLogger,
  });
  const offer = async (...sequences: number[]): Promise<void> => {
    for (const sequence of sequences) stream.offer(live(sequence));
    await stream.drained();
  };
  return { stream, log, replayRequests, uncertainties, counters, offer };
}

describe('PublisherStream', () => {
  it('delivers consecutive batches in order without replaying when the first is 0', async () => {
    const { log, offer, replayRequests } = harness({ replayEndpoint: 'tcp://replay' });
    await offer(0, 1, 2);
    expect(log).toEqual(['live 0', 'live 1', 'live 2']);
    expect(replayRequests).toEqual([]);
  });

  it('accepts a late first batch as the baseline when no replay endpoint is known', async () => {
    const { log, offer, counters } = harness();
    await offer(5, 6);
    expect(log).toEqual(['live 5', 'live 6']);
    expect(counters.gaps).toBe(0);
  });

  it('replays from 0 after subscribing late and drops what the replay already delivered', async () => {
    const replies = [0, 1, 2, 3, 4, 5, 6].map((sequence) => replayed(sequence));
    const { log, offer, replayRequests, counters } = harness({
      replayEndpoint: 'tcp://replay',
      replies: () => replies,
    });
    await offer(5, 6, 7);
    expect(replayRequests).toEqual([0n]);
    expect(log).toEqual([
      'replayed 0',
      'replayed 1',
      'replayed 2',
      'replayed 3',
      'replayed 4',
      'replayed 5',
      'replayed 6',
      'live 7',
    ]);
    expect(counters).toMatchObject({ replays: 1, duplicates: 2, batches: 0 });
  });

  it('takes whatever an evicted replay buffer still has as the baseline after subscribing', async () => {
    const { log, offer, uncertainties } = harness({
      replayEndpoint: 'tcp://replay',
      replies: () => [replayed(3), replayed(4)],
    });
    await offer(5);
    expect(log).toEqual(['replayed 3', 'replayed 4', 'live 5']);
    expect(uncertainties).toEqual([]);
  });

  it('delivers batches of the replay after connecting in order, then continues with live ones', async () => {
    const { stream, log, offer, replayRequests, counters, uncertainties } = harness({
      replayEndpoint: 'tcp://replay',
      replies: (start) => (start === 5n ? [replayed(5)] : []),
    });
    // The buffer no longer held 0–2: the first replayed batch is the baseline.
    stream.offerReplayed(live(3));
    await stream.drained();
    stream.offerReplayed(live(4));
    await stream.drained();
    expect(stream.stats.lastSequence).toBe(4n);
    // 4 came live as well; 6 reveals that 5 was missed after the replay, which a replay fills.
    await offer(4, 6, 7);
    expect(log).toEqual(['replayed 3', 'replayed 4', 'replayed 5', 'live 6', 'live 7']);
    expect(replayRequests).toEqual([5n]);
    expect(counters).toMatchObject({ duplicates: 1, gaps: 1, replays: 1 });
    expect(uncertainties).toEqual([]);
    expect(stream.state).toBe('synced');
  });

  it('fills a gap by replay while holding back live batches that arrive meanwhile', async () => {
    const gate = deferred();
    const { stream, log, offer, replayRequests, counters } = harness({
      replayEndpoint: 'tcp://replay',
      gate: gate.promise,
      replies: (start) => (start === 2n ? [replayed(2), replayed(3), replayed(4)] : []),
    });
    await offer(0, 1);
    stream.offer(live(4));
    stream.offer(live(5));
    stream.offer(live(6));
    await Promise.resolve();
    expect(stream.state).toBe('replaying');
    expect(stream.stats.queuedBatches).toBe(2);
    gate.resolve();
    await stream.drained();
    expect(replayRequests).toEqual([2n]);
    expect(log).toEqual(['live 0', 'live 1', 'replayed 2', 'replayed 3', 'replayed 4', 'live 5', 'live 6']);
    expect(counters).toMatchObject({ gaps: 1, replays: 1, duplicates: 1, uncertainties: 0 });
    expect(stream.state).toBe('synced');
    expect(stream.stats.lastSequence).toBe(6n);
  });

  it('reports a gap as uncertain when no replay endpoint is known, then carries on', async () => {
    const { stream, log, offer, uncertainties } = harness();
    await offer(0, 1, 4, 5);
    expect(log).toEqual(['live 0', 'live 1', 'uncertain 2→4', 'live 4', 'live 5']);
    expect(uncertainties).toEqual([{ expected: 2n, received: 4n, reason: 'no_replay_endpoint' }]);
    expect(stream.state).toBe('uncertain');
  });

  it('falls back to uncertain when the replay fails', async () => {
    const { log, offer, uncertainties, counters } = harness({
      replayEndpoint: 'tcp://replay',
      replies: () => new Error('timed out'),
    });
    await offer(0, 3, 4);
    expect(log).toEqual(['live 0', 'uncertain 1→3', 'live 3', 'live 4']);
    expect(uncertainties[0]?.reason).toBe('replay_failed');
    expect(counters).toMatchObject({ replays: 1, replayFailures: 1 });
  });

  it('reports the part of a gap the replay buffer no longer holds, and does not retry it', async () => {
    const { log, offer, replayRequests } = harness({
      replayEndpoint: 'tcp://replay',
      replies: (start) => (start === 1n ? [replayed(3), replayed(4)] : []),
    });
    await offer(0, 4);
    expect(log).toEqual(['live 0', 'uncertain 1→3', 'replayed 3', 'replayed 4']);
    expect(replayRequests).toEqual([1n]);
  });

  it('skips undecodable or foreign replay replies and reports the hole', async () => {
    const garbage: ReplayItem = { kind: 'batch', topic, sequence: 1n, payload: Uint8Array.of(0xc1, 0xc1) };
    const { log, offer } = harness({
      replayEndpoint: 'tcp://replay',
      replies: () => [
        garbage,
        replayed(2, 'kv@10.0.0.8:8000@m'),
        { kind: 'malformed', reason: 'bad frames' },
      ],
    });
    await offer(0, 2);
    expect(log).toEqual([
      'live 0',
      expect.stringMatching(/^malformed replayed batch 1: KV-event batch/),
      expect.stringMatching(
        /^malformed replay from tcp:\/\/replay answered with topic "kv@10\.0\.0\.8:8000@m"/,
      ),
      'malformed replay from tcp://replay: bad frames',
      'uncertain 1→2',
      'live 2',
    ]);
  });

  it('detects an engine restart from a sequence reset', async () => {
    const { stream, log, offer, counters } = harness();
    await offer(0, 1, 2, 5, 0, 1);
    expect(log).toEqual([
      'live 0',
      'live 1',
      'live 2',
      'uncertain 3→5',
      'live 5',
      'restart',
      'live 0',
      'live 1',
    ]);
    expect(counters.restarts).toBe(1);
    // A restart starts a clean history.
    expect(stream.state).toBe('synced');
  });

  it('replays a restarted engine from 0 when its first batch seen is later', async () => {
    const { log, offer, replayRequests } = harness({
      replayEndpoint: 'tcp://replay',
      replies: () => [replayed(0), replayed(1), replayed(2)],
    });
    await offer(0, 1, 2, 3, 2);
    expect(log).toEqual([
      'live 0',
      'live 1',
      'live 2',
      'live 3',
      'restart',
      'replayed 0',
      'replayed 1',
      'replayed 2',
    ]);
    expect(replayRequests).toEqual([0n]);
  });

  it('drops live batches beyond its queue and recovers them by replay', async () => {
    const gate = deferred();
    const { stream, log, offer, counters } = harness({
      replayEndpoint: 'tcp://replay',
      gate: gate.promise,
      maxQueuedBatches: 2,
      replies: (start) => (start === 1n ? [replayed(1), replayed(2)] : [replayed(5), replayed(6)]),
    });
    await offer(0);
    stream.offer(live(2));
    await Promise.resolve();
    // The replay for 1 is waiting; 3 and 4 fit in the queue, 5 does not.
    stream.offer(live(3));
    stream.offer(live(4));
    stream.offer(live(5));
    expect(counters.droppedBatches).toBe(1);
    gate.resolve();
    await stream.drained();
    await offer(6, 7);
    expect(log).toEqual([
      'live 0',
      'replayed 1',
      'replayed 2',
      'live 3',
      'live 4',
      'replayed 5',
      'replayed 6',
      'live 7',
    ]);
  });

  it('delivers nothing once stopped, even mid-replay', async () => {
    const gate = deferred();
    const { stream, log, offer } = harness({
      replayEndpoint: 'tcp://replay',
      gate: gate.promise,
      replies: () => [replayed(1), replayed(2)],
    });
    await offer(0);
    stream.offer(live(2));
    stream.offer(live(3));
    const stopped = stream.stop();
    gate.resolve();
    await stopped;
    stream.offer(live(4));
    await stream.drained();
    expect(log).toEqual(['live 0']);
  });
});
