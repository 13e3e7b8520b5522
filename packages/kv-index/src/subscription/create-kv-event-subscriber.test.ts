import { type KvEvent, LlmdError, type LogFields, type Logger } from '@llmd/core';
import {
  createKvEventPublisher,
  encodeKvEventBatch,
  type KvEventPublisher,
  type KvEventPublisherOptions,
} from '@llmd/sim';
import { afterEach, describe, expect, it } from 'vitest';
import { Publisher, Router } from 'zeromq';
import { createKvEventSubscriber, type KvEventSubscriber } from './create-kv-event-subscriber.js';
import type { KvEventDelivery, KvEventPublisherIdentity, KvEventUncertainty } from './kv-event-delivery.js';
import type { KvEventSubscriberOptions } from './kv-event-subscriber-options.js';
import { encodeSequenceFrame, endOfReplaySequence } from './sequence-frame.js';

const topicA = 'kv@127.0.0.1:8000@Qwen/Qwen3-32B';
const topicB = 'kv@127.0.0.2:8000@Qwen/Qwen3-32B';
const keyA = '127.0.0.1:8000';
const keyB = '127.0.0.2:8000';
const probe: KvEvent = { type: 'AllBlocksCleared' };
/** A recognisable batch: its one event's hash is the marker. */
const marker = (value: number): KvEvent => ({
  type: 'BlockRemoved',
  blockHashes: [BigInt(value)],
  medium: 'GPU',
});

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Polls `predicate`; false once `timeoutMilliseconds` pass (a bound that fails tests, never a hang). */
async function eventually(predicate: () => boolean, timeoutMilliseconds: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMilliseconds;
  while (!predicate()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

async function until(predicate: () => boolean, description: string): Promise<void> {
  if (!(await eventually(predicate, 10_000))) throw new Error(`timed out waiting for ${description}`);
}

class Recorder {
  readonly deliveries: KvEventDelivery[] = [];
  readonly uncertainties: Array<{ endpointKey: string; uncertainty: KvEventUncertainty }> = [];
  /** Everything in call order, to check that callbacks come before the batches they concern. */
  readonly timeline: string[] = [];

  readonly callbacks = {
    onBatch: (delivery: KvEventDelivery): void => {
      this.deliveries.push(delivery);
      this.timeline.push(`batch ${delivery.endpointKey} ${delivery.sequence}`);
    },
    onUncertain: (endpointKey: string, uncertainty: KvEventUncertainty): void => {
      this.uncertainties.push({ endpointKey, uncertainty });
      this.timeline.push(`uncertain ${endpointKey} ${uncertainty.expected}→${uncertainty.received}`);
    },
    onRestart: (endpointKey: string, publisher: KvEventPublisherIdentity): void => {
      this.timeline.push(`restart ${endpointKey} ${publisher.topic}`);
    },
  };

  of(endpointKey: string): KvEventDelivery[] {
    return this.deliveries.filter((delivery) => delivery.endpointKey === endpointKey);
  }

  sequences(endpointKey: string): bigint[] {
    return this.of(endpointKey).map((delivery) => delivery.sequence);
  }

  /** Marker values delivered for an endpoint, in delivery order (probes carry none). */
  markers(endpointKey: string): number[] {
    return this.of(endpointKey).flatMap((delivery) =>
      delivery.batch.events.flatMap((event) =>
        event.type === 'BlockRemoved' ? [Number(event.blockHashes[0])] : [],
      ),
    );
  }

  hasMarker(endpointKey: string, value: number): boolean {
    return this.markers(endpointKey).includes(value);
  }
}

/**
 * PUB/SUB "slow joiner": a subscription reaches the publisher some time after connecting, and
 * what is published before that is lost. Publish probes until one is delivered; assertions then
 * rest on sequence numbers and contents, never on timing.
 */
async function synchronise(publishProbe: () => unknown, delivered: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 400; attempt += 1) {
    await publishProbe();
    if (await eventually(delivered, 25)) return;
  }
  throw new Error('no probe reached the subscriber');
}

const range = (from: bigint, to: bigint): bigint[] => {
  const values: bigint[] = [];
  for (let value = from; value <= to; value += 1n) values.push(value);
  return values;
};

async function startSubscriber(options: KvEventSubscriberOptions): Promise<KvEventSubscriber> {
  const subscriber = await createKvEventSubscriber(options);
  cleanups.push(() => subscriber.close());
  return subscriber;
}

async function startSimPublisher(options: KvEventPublisherOptions): Promise<KvEventPublisher> {
  const publisher = await createKvEventPublisher({ now: () => 1_700_000_000_000, ...options });
  cleanups.push(() => publisher.close());
  return publisher;
}

/** A hand-driven PUB socket, for sequences and frames the simulator never produces. */
class RawPublisher {
  nextSequence = 0n;
  readonly sent = new Map<bigint, Uint8Array>();
  private constructor(
    readonly socket: Publisher,
    readonly endpoint: string,
    readonly topic: string,
  ) {}

  static async start(topic: string): Promise<RawPublisher> {
    const socket = new Publisher({ linger: 0 });
    await socket.bind('tcp://127.0.0.1:*');
    const publisher = new RawPublisher(socket, socket.lastEndpoint as string, topic);
    cleanups.push(() => socket.close());
    return publisher;
  }

  async publish(events: KvEvent[], sequence = this.nextSequence): Promise<bigint> {
    const payload = encodeKvEventBatch({ timestamp: 1, events, dataParallelRank: 0 }, { format: 'array' });
    this.sent.set(sequence, payload);
    this.nextSequence = sequence + 1n;
    await this.socket.send([this.topic, encodeSequenceFrame(sequence), payload]);
    return sequence;
  }

  async sendFrames(frames: Array<Uint8Array | string>): Promise<void> {
    await this.socket.send(
      frames.map((frame) => (typeof frame === 'string' ? Buffer.from(frame) : Buffer.from(frame))),
    );
  }
}

/**
 * A replay ROUTER answering like vLLM before PR #45177: `["", seq, payload]` without a topic,
 * then `["", ff×8, ""]`. With `answer: false` it swallows requests, to exercise the timeout.
 */
function startLegacyReplayServer(source: RawPublisher, answer: boolean): Promise<string> {
  return startReplayServer(source, { answer, withTopic: false });
}

/**
 * A replay ROUTER serving `source.sent`; `withTopic` answers `["", topic, seq, payload]` like
 * current vLLM. With `gate`, each request is answered only once the gate opens.
 */
async function startReplayServer(
  source: RawPublisher,
  options: { answer: boolean; withTopic: boolean; gate?: Promise<void> },
): Promise<string> {
  const router = new Router({ linger: 0 });
  await router.bind('tcp://127.0.0.1:*');
  const empty = Buffer.alloc(0);
  const topicFrames = options.withTopic ? [Buffer.from(source.topic)] : [];
  const serving = (async () => {
    for await (const [clientId, , startFrame] of router) {
      if (!options.answer || clientId === undefined || startFrame === undefined) continue;
      await options.gate;
      const start = startFrame.readBigUInt64BE(0);
      const sequences = [...source.sent.keys()]
        .filter((sequence) => sequence >= start)
        .sort((a, b) => (a < b ? -1 : 1));
      for (const sequence of sequences) {
        await router.send([
          clientId,
          empty,
          ...topicFrames,
          encodeSequenceFrame(sequence),
          source.sent.get(sequence) as Uint8Array,
        ]);
      }
      await router.send([clientId, empty, encodeSequenceFrame(endOfReplaySequence), empty]);
    }
  })();
  cleanups.push(async () => {
    router.close();
    await serving;
  });
  return router.lastEndpoint as string;
}

function recordingLogger(): {
  logger: Logger;
  warnings: Array<{ fields: LogFields; message: string | undefined }>;
} {
  const warnings: Array<{ fields: LogFields; message: string | undefined }> = [];
  const ignore = (): void => {};
  const logger: Logger = {
    trace: ignore,
    debug: ignore,
    info: ignore,
    warn: (fields, message) => warnings.push({ fields, message }),
    error: ignore,
    child: () => logger,
  };
  return { logger, warnings };
}

describe('createKvEventSubscriber', { timeout: 30_000 }, () => {
  it('per-pod: delivers a publisher’s batches in order under the topic’s endpoint key', async () => {
    const recorder = new Recorder();
    let clock = 5_000;
    const subscriber = await startSubscriber({ mode: 'per-pod', ...recorder.callbacks, now: () => clock });
    const publisher = await startSimPublisher({
      endpoint: 'tcp://127.0.0.1:*',
      replayEndpoint: 'tcp://127.0.0.1:*',
      topic: topicA,
    });
    // Published before anyone subscribed, so lost to the live stream for certain.
    for (let value = 101; value <= 105; value += 1) publisher.publish([marker(value)]);
    await publisher.flush();
    subscriber.addEndpoint({
      endpointKey: keyA,
      eventsEndpoint: publisher.endpoint,
      replayEndpoint: publisher.replayEndpoint ?? undefined,
    });
    await synchronise(
      () => publisher.publish([probe]),
      () => recorder.of(keyA).length > 0,
    );
    clock = 6_000;
    for (let value = 1; value <= 20; value += 1) publisher.publish([marker(value)]);
    await until(() => recorder.hasMarker(keyA, 20), 'marker 20');

    const last = BigInt(publisher.stats.nextSequence - 1);
    // Batches published before the subscription took were replayed from 0: the history is complete.
    expect(recorder.sequences(keyA)).toEqual(range(0n, last));
    expect(recorder.markers(keyA)).toEqual([
      101,
      102,
      103,
      104,
      105,
      ...Array.from({ length: 20 }, (_, index) => index + 1),
    ]);
    expect(recorder.of(keyA)[0]?.replayed).toBe(true);
    const [first] = recorder.of(keyA);
    expect(first).toMatchObject({
      endpointKey: keyA,
      modelName: 'Qwen/Qwen3-32B',
      topic: topicA,
      dataParallelRank: 0,
    });
    expect(first?.batch.timestamp).toBe(1_700_000_000);
    expect(recorder.uncertainties).toEqual([]);
    const [endpoint] = subscriber.stats().endpoints;
    expect(endpoint).toMatchObject({
      endpointKey: keyA,
      state: 'synced',
      lastSequence: last,
      batches: Number(last) + 1,
      events: Number(last) + 1,
      gaps: 0,
      replays: 1,
      malformed: 0,
      lastEventTime: 6_000,
    });
  });

  it('per-pod: fills a sequence gap from the publisher’s replay socket', async () => {
    const recorder = new Recorder();
    const subscriber = await startSubscriber({ mode: 'per-pod', ...recorder.callbacks });
    // A one-batch queue: publishing three batches in one go sends the first and drops the other
    // two, which still get sequence numbers and enter the replay buffer (a real, forced gap).
    const publisher = await startSimPublisher({
      endpoint: 'tcp://127.0.0.1:*',
      replayEndpoint: 'tcp://127.0.0.1:*',
      topic: topicA,
      maxQueueSize: 1,
    });
    subscriber.addEndpoint({
      endpointKey: keyA,
      eventsEndpoint: publisher.endpoint,
      replayEndpoint: publisher.replayEndpoint ?? undefined,
    });
    await synchronise(
      async () => {
        publisher.publish([probe]);
        await publisher.flush();
      },
      () => recorder.of(keyA).length > 0,
    );
    const gapsBefore = subscriber.stats().totals.gaps;
    publisher.publish([marker(1)]);
    publisher.publish([marker(2)]);
    publisher.publish([marker(3)]);
    expect(publisher.stats.droppedBatches).toBe(2);
    await publisher.flush();
    publisher.publish([marker(4)]);
    await until(() => recorder.hasMarker(keyA, 4), 'marker 4');

    expect(recorder.markers(keyA)).toEqual([1, 2, 3, 4]);
    expect(recorder.sequences(keyA)).toEqual(range(0n, BigInt(publisher.stats.nextSequence - 1)));
    const replayedMarkers = recorder
      .of(keyA)
      .filter((delivery) => delivery.replayed)
      .flatMap((delivery) =>
        delivery.batch.events.map((event) => (event.type === 'BlockRemoved' ? event.blockHashes[0] : 0n)),
      );
    expect(replayedMarkers).toEqual(expect.arrayContaining([2n, 3n]));
    expect(subscriber.stats().totals.gaps - gapsBefore).toBe(1);
    expect(subscriber.stats().endpoints[0]).toMatchObject({ state: 'synced', uncertainties: 0 });
    expect(publisher.stats.replayRequests).toBeGreaterThanOrEqual(1);
  });

  it('per-pod: replays an idle engine’s earlier batches right after connecting', async () => {
    const publisher = await startSimPublisher({
      endpoint: 'tcp://127.0.0.1:*',
      replayEndpoint: 'tcp://127.0.0.1:*',
      topic: topicA,
    });
    // Published before the subscriber exists; the engine then stays idle.
    publisher.publish([marker(1)]);
    publisher.publish([marker(2)]);
    await publisher.flush();
    const recorder = new Recorder();
    const subscriber = await startSubscriber({ mode: 'per-pod', ...recorder.callbacks });
    subscriber.addEndpoint({
      endpointKey: keyA,
      eventsEndpoint: publisher.endpoint,
      replayEndpoint: publisher.replayEndpoint ?? undefined,
    });
    await until(() => recorder.of(keyA).length === 2, 'both earlier batches');

    expect(publisher.stats.nextSequence).toBe(2);
    expect(publisher.stats.replayRequests).toBe(1);
    expect(recorder.sequences(keyA)).toEqual([0n, 1n]);
    expect(recorder.markers(keyA)).toEqual([1, 2]);
    expect(recorder.of(keyA).map((delivery) => delivery.replayed)).toEqual([true, true]);
    expect(recorder.of(keyA)[0]).toMatchObject({
      endpointKey: keyA,
      modelName: 'Qwen/Qwen3-32B',
      topic: topicA,
      dataParallelRank: 0,
    });
    expect(recorder.uncertainties).toEqual([]);
    expect(subscriber.stats().endpoints[0]).toMatchObject({
      state: 'synced',
      lastSequence: 1n,
      batches: 2,
      replays: 1,
      replayFailures: 0,
      gaps: 0,
    });

    // When the engine publishes again, the live stream continues the replayed history.
    await synchronise(
      () => publisher.publish([probe]),
      () => recorder.of(keyA).length > 2,
    );
    publisher.publish([marker(3)]);
    await until(() => recorder.hasMarker(keyA, 3), 'marker 3');
    expect(recorder.sequences(keyA)).toEqual(range(0n, BigInt(publisher.stats.nextSequence - 1)));
    expect(recorder.markers(keyA)).toEqual([1, 2, 3]);
    expect(recorder.of(keyA).at(-1)?.replayed).toBe(false);
    expect(recorder.uncertainties).toEqual([]);
  });

  it('per-pod: an engine that has published nothing yet replays nothing, then is followed live', async () => {
    const recorder = new Recorder();
    const subscriber = await startSubscriber({ mode: 'per-pod', ...recorder.callbacks });
    const publisher = await startSimPublisher({
      endpoint: 'tcp://127.0.0.1:*',
      replayEndpoint: 'tcp://127.0.0.1:*',
      topic: topicA,
    });
    subscriber.addEndpoint({
      endpointKey: keyA,
      eventsEndpoint: publisher.endpoint,
      replayEndpoint: publisher.replayEndpoint ?? undefined,
    });
    // The endpoint reads `replaying` from addEndpoint until the (empty) replay has ended.
    await until(
      () => publisher.stats.replayRequests === 1 && subscriber.stats().endpoints[0]?.state === 'synced',
      'the replay after connecting',
    );
    expect(recorder.deliveries).toEqual([]);
    expect(subscriber.stats().endpoints[0]).toMatchObject({
      replays: 1,
      replayFailures: 0,
      batches: 0,
      publishers: [],
    });

    await synchronise(
      () => publisher.publish([probe]),
      () => recorder.of(keyA).length > 0,
    );
    for (let value = 1; value <= 3; value += 1) publisher.publish([marker(value)]);
    await until(() => recorder.hasMarker(keyA, 3), 'marker 3');

    // Every batch exactly once, in order; the markers came live.
    expect(recorder.sequences(keyA)).toEqual(range(0n, BigInt(publisher.stats.nextSequence - 1)));
    expect(recorder.markers(keyA)).toEqual([1, 2, 3]);
    expect(
      recorder
        .of(keyA)
        .slice(-3)
        .map((delivery) => delivery.replayed),
    ).toEqual([false, false, false]);
    expect(recorder.uncertainties).toEqual([]);
    expect(subscriber.stats().endpoints[0]).toMatchObject({ state: 'synced', replayFailures: 0 });
  });

  it('per-pod: holds live batches behind the replay after connecting and drops what it delivered', async () => {
    const recorder = new Recorder();
    const subscriber = await startSubscriber({ mode: 'per-pod', ...recorder.callbacks });
    const publisher = await RawPublisher.start(topicA);
    // Batches 0 and 1 were published before the subscriber existed.
    for (const value of [0, 1]) {
      publisher.sent.set(
        BigInt(value),
        encodeKvEventBatch(
          { timestamp: 1, events: [marker(value)], dataParallelRank: 0 },
          { format: 'array' },
        ),
      );
    }
    publisher.nextSequence = 2n;
    let openGate = (): void => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const replayEndpoint = await startReplayServer(publisher, { answer: true, withTopic: true, gate });
    subscriber.addEndpoint({ endpointKey: keyA, eventsEndpoint: publisher.endpoint, replayEndpoint });
    // Live batches reach the subscriber but wait: the replay has not answered yet.
    await synchronise(
      () => publisher.publish([probe]),
      () => subscriber.stats().totals.messages > 0,
    );
    expect(recorder.deliveries).toEqual([]);
    expect(subscriber.stats().endpoints[0]?.state).toBe('replaying');
    const lastBeforeReplay = publisher.nextSequence - 1n;
    openGate();
    await until(() => recorder.of(keyA).length === Number(lastBeforeReplay) + 1, 'the replayed batches');
    await publisher.publish([marker(9)]);
    await until(() => recorder.hasMarker(keyA, 9), 'marker 9');

    // The replay answered with everything sent so far, live copies included: each delivered once.
    expect(recorder.sequences(keyA)).toEqual(range(0n, lastBeforeReplay + 1n));
    expect(recorder.markers(keyA)).toEqual([0, 1, 9]);
    expect(recorder.of(keyA).map((delivery) => delivery.replayed)).toEqual([
      ...range(0n, lastBeforeReplay).map(() => true),
      false,
    ]);
    const [stats] = subscriber.stats().endpoints;
    expect(stats).toMatchObject({ state: 'synced', replays: 1, gaps: 0, uncertainties: 0 });
    expect(stats?.duplicates).toBeGreaterThanOrEqual(1);
  });

  it('per-pod: when the replay after connecting gets no answer, the first live batch falls back to uncertain', async () => {
    const recorder = new Recorder();
    const subscriber = await startSubscriber({
      mode: 'per-pod',
      ...recorder.callbacks,
      replayTimeoutMilliseconds: 200,
    });
    const publisher = await RawPublisher.start(topicA);
    const replayEndpoint = await startLegacyReplayServer(publisher, false);
    subscriber.addEndpoint({ endpointKey: keyA, eventsEndpoint: publisher.endpoint, replayEndpoint });
    await until(() => subscriber.stats().endpoints[0]?.replayFailures === 1, 'the replay to time out');
    expect(recorder.deliveries).toEqual([]);
    expect(recorder.uncertainties).toEqual([]);
    expect(subscriber.stats().endpoints[0]).toMatchObject({ state: 'synced', replays: 1 });

    // Batches 0–4 went unseen; the first live batch asks for them again, and again gets no answer.
    publisher.nextSequence = 5n;
    await synchronise(
      () => publisher.publish([probe]),
      () => recorder.of(keyA).length > 0,
    );
    const [first] = recorder.sequences(keyA);
    expect(recorder.uncertainties).toEqual([
      { endpointKey: keyA, uncertainty: { expected: 0n, received: first, reason: 'replay_failed' } },
    ]);
    await publisher.publish([marker(1)]);
    await until(() => recorder.hasMarker(keyA, 1), 'marker 1');
    expect(recorder.sequences(keyA)).toEqual(range(first ?? 0n, publisher.nextSequence - 1n));
    expect(subscriber.stats().endpoints[0]).toMatchObject({
      state: 'uncertain',
      replays: 2,
      replayFailures: 2,
      uncertainties: 1,
    });
  });

  it('central: binds, tells engines apart by topic and replays through replayEndpoints', async () => {
    const recorder = new Recorder();
    const replayEndpoints = new Map<string, string>();
    const subscriber = await startSubscriber({
      mode: 'central',
      bindEndpoint: 'tcp://127.0.0.1:*',
      replayEndpoints: (endpointKey) => replayEndpoints.get(endpointKey),
      ...recorder.callbacks,
    });
    expect(subscriber.endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const publisherA = await startSimPublisher({
      endpoint: subscriber.endpoint as string,
      replayEndpoint: 'tcp://127.0.0.1:*',
      topic: topicA,
      format: 'map',
    });
    const publisherB = await startSimPublisher({ endpoint: subscriber.endpoint as string, topic: topicB });
    replayEndpoints.set(keyA, publisherA.replayEndpoint as string);
    // Most likely published before the connection is up, and then only a replay can deliver them.
    for (let value = 201; value <= 203; value += 1) publisherA.publish([marker(value)]);
    await synchronise(
      () => {
        publisherA.publish([probe]);
        publisherB.publish([probe]);
      },
      () => recorder.of(keyA).length > 0 && recorder.of(keyB).length > 0,
    );
    for (let value = 1; value <= 10; value += 1) {
      publisherA.publish([marker(value)]);
      publisherB.publish([marker(100 + value)]);
    }
    await until(() => recorder.hasMarker(keyA, 10) && recorder.hasMarker(keyB, 110), 'both last markers');

    expect(recorder.markers(keyA)).toEqual([
      201,
      202,
      203,
      ...Array.from({ length: 10 }, (_, index) => index + 1),
    ]);
    expect(recorder.markers(keyB)).toEqual(Array.from({ length: 10 }, (_, index) => index + 101));
    // A has a replay socket, so even probes lost before the subscription took are delivered.
    expect(recorder.sequences(keyA)).toEqual(range(0n, BigInt(publisherA.stats.nextSequence - 1)));
    // B has none: its history starts at the first batch that arrived, then has no holes.
    const sequencesB = recorder.sequences(keyB);
    expect(sequencesB).toEqual(range(sequencesB[0] ?? 0n, BigInt(publisherB.stats.nextSequence - 1)));
    expect(recorder.of(keyB)[0]?.modelName).toBe('Qwen/Qwen3-32B');
    const stats = subscriber.stats();
    expect(stats.endpoints.map((endpoint) => endpoint.endpointKey)).toEqual([keyA, keyB]);
    expect(stats.totals.uncertainties).toBe(0);
  });

  it('reports a gap as uncertain when no replay endpoint is known, and keeps delivering', async () => {
    const recorder = new Recorder();
    const subscriber = await startSubscriber({ mode: 'per-pod', ...recorder.callbacks });
    const publisher = await RawPublisher.start(topicA);
    subscriber.addEndpoint({ endpointKey: keyA, eventsEndpoint: publisher.endpoint });
    await synchronise(
      () => publisher.publish([probe]),
      () => recorder.of(keyA).length > 0,
    );
    const before = publisher.nextSequence;
    await publisher.publish([marker(1)]);
    await publisher.publish([marker(3)], before + 2n);
    await publisher.publish([marker(4)]);
    await until(() => recorder.hasMarker(keyA, 4), 'marker 4');

    expect(recorder.markers(keyA)).toEqual([1, 3, 4]);
    expect(recorder.uncertainties).toEqual([
      {
        endpointKey: keyA,
        uncertainty: { expected: before + 1n, received: before + 2n, reason: 'no_replay_endpoint' },
      },
    ]);
    expect(recorder.timeline.slice(-3)).toEqual([
      `uncertain ${keyA} ${before + 1n}→${before + 2n}`,
      `batch ${keyA} ${before + 2n}`,
      `batch ${keyA} ${before + 3n}`,
    ]);
    expect(subscriber.stats().endpoints[0]).toMatchObject({ state: 'uncertain', gaps: 1, uncertainties: 1 });
  });

  it('replays from a legacy replay socket that sends no topic frames', async () => {
    const recorder = new Recorder();
    const subscriber = await startSubscriber({ mode: 'per-pod', ...recorder.callbacks });
    const publisher = await RawPublisher.start(topicA);
    const replayEndpoint = await startLegacyReplayServer(publisher, true);
    subscriber.addEndpoint({ endpointKey: keyA, eventsEndpoint: publisher.endpoint, replayEndpoint });
    await synchronise(
      () => publisher.publish([probe]),
      () => recorder.of(keyA).length > 0,
    );
    const before = publisher.nextSequence;
    // Recorded for replay but never sent live.
    publisher.sent.set(
      before,
      encodeKvEventBatch({ timestamp: 1, events: [marker(1)], dataParallelRank: 0 }, { format: 'array' }),
    );
    publisher.sent.set(
      before + 1n,
      encodeKvEventBatch({ timestamp: 1, events: [marker(2)], dataParallelRank: 0 }, { format: 'array' }),
    );
    await publisher.publish([marker(3)], before + 2n);
    await until(() => recorder.hasMarker(keyA, 3), 'marker 3');

    expect(recorder.markers(keyA)).toEqual([1, 2, 3]);
    expect(recorder.sequences(keyA)).toEqual(range(0n, before + 2n));
    expect(recorder.uncertainties).toEqual([]);
  });

  it('falls back to uncertain when the replay socket does not answer in time', async () => {
    const recorder = new Recorder();
    const subscriber = await startSubscriber({
      mode: 'per-pod',
      ...recorder.callbacks,
      replayTimeoutMilliseconds: 200,
    });
    const publisher = await RawPublisher.start(topicA);
    const replayEndpoint = await startLegacyReplayServer(publisher, false);
    // Start at 0 so that the first batch needs no replay; only the gap will ask for one.
    subscriber.addEndpoint({ endpointKey: keyA, eventsEndpoint: publisher.endpoint });
    await synchronise(
      () => publisher.publish([probe], 0n),
      () => recorder.of(keyA).length > 0,
    );
    subscriber.addEndpoint({ endpointKey: keyA, eventsEndpoint: publisher.endpoint, replayEndpoint });
    await publisher.publish([marker(5)], 5n);
    await publisher.publish([marker(6)]);
    await until(() => recorder.hasMarker(keyA, 6), 'marker 6');

    expect(recorder.uncertainties).toEqual([
      { endpointKey: keyA, uncertainty: { expected: 1n, received: 5n, reason: 'replay_failed' } },
    ]);
    expect(recorder.markers(keyA)).toEqual([5, 6]);
    expect(subscriber.stats().endpoints[0]).toMatchObject({
      replays: 1,
      replayFailures: 1,
      state: 'uncertain',
    });
  });

  it('detects an engine restart from a sequence reset and calls onRestart first', async () => {
    const recorder = new Recorder();
    const subscriber = await startSubscriber({ mode: 'per-pod', ...recorder.callbacks });
    const publisher = await RawPublisher.start(topicA);
    subscriber.addEndpoint({ endpointKey: keyA, eventsEndpoint: publisher.endpoint });
    await synchronise(
      () => publisher.publish([probe]),
      () => recorder.of(keyA).length > 0,
    );
    await publisher.publish([marker(1)]);
    await publisher.publish([marker(2)], 0n);
    await publisher.publish([marker(3)]);
    await until(() => recorder.hasMarker(keyA, 3), 'marker 3');

    expect(recorder.timeline.slice(-4)).toEqual([
      expect.stringMatching(/^batch /),
      `restart ${keyA} ${topicA}`,
      `batch ${keyA} 0`,
      `batch ${keyA} 1`,
    ]);
    expect(recorder.markers(keyA)).toEqual([1, 2, 3]);
    expect(subscriber.stats().endpoints[0]).toMatchObject({ restarts: 1, state: 'synced', lastSequence: 1n });
  });

  it('counts malformed messages per endpoint, logs them once a minute and keeps going', async () => {
    const recorder = new Recorder();
    const { logger, warnings } = recordingLogger();
    let clock = 0;
    const subscriber = await startSubscriber({
      mode: 'per-pod',
      ...recorder.callbacks,
      logger,
      now: () => clock,
    });
    const noisy = await RawPublisher.start(topicA);
    const quiet = await RawPublisher.start(topicB);
    subscriber.addEndpoint({ endpointKey: keyA, eventsEndpoint: noisy.endpoint });
    subscriber.addEndpoint({ endpointKey: keyB, eventsEndpoint: quiet.endpoint });
    await synchronise(
      async () => {
        await noisy.publish([probe]);
        await quiet.publish([probe]);
      },
      () => recorder.of(keyA).length > 0 && recorder.of(keyB).length > 0,
    );
    const malformedWarnings = (): number =>
      warnings.filter((warning) => warning.message === 'dropping malformed KV-event message').length;
    const before = noisy.nextSequence;
    await noisy.sendFrames([topicA]);
    await noisy.sendFrames([topicA, encodeSequenceFrame(before), Buffer.from([0x93]), 'extra']);
    await noisy.sendFrames([topicA, Buffer.alloc(7), Buffer.from([0x93])]);
    await noisy.sendFrames([topicA, encodeSequenceFrame(before), Buffer.from('not msgpack at all')]);
    await noisy.publish([marker(1)], before + 1n);
    await quiet.publish([marker(2)]);
    await until(() => recorder.hasMarker(keyA, 1) && recorder.hasMarker(keyB, 2), 'markers after garbage');

    const [statsA, statsB] = subscriber.stats().endpoints;
    expect(statsA).toMatchObject({ endpointKey: keyA, malformed: 4 });
    expect(statsB).toMatchObject({ endpointKey: keyB, malformed: 0, uncertainties: 0, state: 'synced' });
    // The undecodable batch is a lost batch: reported, then the next good one is delivered.
    expect(recorder.uncertainties).toEqual([
      {
        endpointKey: keyA,
        uncertainty: { expected: before, received: before + 1n, reason: 'no_replay_endpoint' },
      },
    ]);
    expect(malformedWarnings()).toBe(1);
    expect(
      warnings.find((warning) => warning.message === 'dropping malformed KV-event message')?.fields,
    ).toMatchObject({
      endpointKey: keyA,
      reason: 'expected 3 frames [topic, seq, payload], got 1',
    });

    clock += 60_000;
    await noisy.sendFrames([topicA]);
    await noisy.publish([marker(3)]);
    await until(() => recorder.hasMarker(keyA, 3), 'marker 3');
    expect(malformedWarnings()).toBe(2);
    expect(warnings.at(-1)?.fields).toMatchObject({ suppressedSinceLastLog: 3 });
  });

  it('per-pod: accepts topic-less [seq, payload] messages from a dedicated socket', async () => {
    const recorder = new Recorder();
    const subscriber = await startSubscriber({ mode: 'per-pod', topicFilter: '', ...recorder.callbacks });
    const publisher = await RawPublisher.start('');
    subscriber.addEndpoint({ endpointKey: keyA, eventsEndpoint: publisher.endpoint });
    let sequence = 0n;
    const payload = (events: KvEvent[]): Uint8Array =>
      encodeKvEventBatch({ timestamp: 1, events, dataParallelRank: null }, { format: 'array' });
    await synchronise(
      async () => {
        await publisher.sendFrames([encodeSequenceFrame(sequence), payload([probe])]);
        sequence += 1n;
      },
      () => recorder.of(keyA).length > 0,
    );
    await publisher.sendFrames([encodeSequenceFrame(sequence), payload([marker(1)])]);
    await until(() => recorder.hasMarker(keyA, 1), 'marker 1');
    expect(recorder.of(keyA).at(-1)).toMatchObject({ endpointKey: keyA, modelName: '', topic: '', sequence });
  });

  it('central: counts messages it cannot attribute without touching known endpoints', async () => {
    const recorder = new Recorder();
    const subscriber = await startSubscriber({
      mode: 'central',
      bindEndpoint: 'tcp://127.0.0.1:*',
      topicFilter: '',
      ...recorder.callbacks,
    });
    const socket = new Publisher({ linger: 0 });
    cleanups.push(() => socket.close());
    socket.connect(subscriber.endpoint as string);
    const good = (sequence: bigint, events: KvEvent[]) => [
      Buffer.from(topicA),
      encodeSequenceFrame(sequence),
      encodeKvEventBatch({ timestamp: 1, events, dataParallelRank: 0 }, { format: 'array' }),
    ];
    let sequence = 0n;
    await synchronise(
      async () => {
        await socket.send(good(sequence, [probe]));
        sequence += 1n;
      },
      () => recorder.of(keyA).length > 0,
    );
    const payload = encodeKvEventBatch(
      { timestamp: 1, events: [marker(9)], dataParallelRank: 0 },
      { format: 'array' },
    );
    await socket.send([encodeSequenceFrame(0n), payload]);
    await socket.send([Buffer.from('kv@not-an-endpoint:99999@m'), encodeSequenceFrame(0n), payload]);
    await socket.send([Buffer.from('some-other-topic'), encodeSequenceFrame(0n), payload]);
    await socket.send(good(sequence, [marker(1)]));
    await until(() => recorder.hasMarker(keyA, 1), 'marker 1');

    const stats = subscriber.stats();
    expect(stats.totals).toMatchObject({ malformed: 3, unattributedMalformed: 3 });
    expect(stats.endpoints).toEqual([
      expect.objectContaining({ endpointKey: keyA, malformed: 0, state: 'synced' }),
    ]);
    expect(recorder.markers(keyA)).toEqual([1]);
  });

  it('per-pod: removing an endpoint stops its deliveries and forgets it', async () => {
    const recorder = new Recorder();
    const subscriber = await startSubscriber({ mode: 'per-pod', ...recorder.callbacks });
    const publisherA = await startSimPublisher({ endpoint: 'tcp://127.0.0.1:*', topic: topicA });
    const publisherB = await startSimPublisher({ endpoint: 'tcp://127.0.0.1:*', topic: topicB });
    subscriber.addEndpoint({ endpointKey: keyA, eventsEndpoint: publisherA.endpoint });
    subscriber.addEndpoint({ endpointKey: keyB, eventsEndpoint: publisherB.endpoint });
    // Discovery reporting the same endpoint again changes nothing.
    subscriber.addEndpoint({ endpointKey: keyA, eventsEndpoint: publisherA.endpoint });
    await synchronise(
      () => {
        publisherA.publish([probe]);
        publisherB.publish([probe]);
      },
      () => recorder.of(keyA).length > 0 && recorder.of(keyB).length > 0,
    );
    expect(subscriber.removeEndpoint(keyA)).toBe(true);
    expect(subscriber.removeEndpoint(keyA)).toBe(false);
    const deliveredToA = recorder.of(keyA).length;
    publisherA.publish([marker(1)]);
    await publisherA.flush();
    // B's batch is published after A's; once it arrives, A's would have too had A still been connected.
    publisherB.publish([marker(2)]);
    await until(() => recorder.hasMarker(keyB, 2), 'marker 2');
    publisherA.publish([marker(3)]);
    publisherB.publish([marker(4)]);
    await until(() => recorder.hasMarker(keyB, 4), 'marker 4');

    expect(recorder.of(keyA)).toHaveLength(deliveredToA);
    expect(subscriber.stats().endpoints.map((endpoint) => endpoint.endpointKey)).toEqual([keyB]);
  });

  it('close() ends deliveries and is idempotent', async () => {
    const recorder = new Recorder();
    const subscriber = await createKvEventSubscriber({ mode: 'per-pod', ...recorder.callbacks });
    const publisher = await startSimPublisher({ endpoint: 'tcp://127.0.0.1:*', topic: topicA });
    subscriber.addEndpoint({ endpointKey: keyA, eventsEndpoint: publisher.endpoint });
    await synchronise(
      () => publisher.publish([probe]),
      () => recorder.of(keyA).length > 0,
    );
    await Promise.all([subscriber.close(), subscriber.close()]);
    await subscriber.close();
    expect(subscriber.stats().endpoints).toEqual([]);
    expect(() => subscriber.addEndpoint({ endpointKey: keyA, eventsEndpoint: publisher.endpoint })).toThrow(
      /closed/,
    );
  });

  it('rejects invalid options, mode misuse and unbindable endpoints with typed errors', async () => {
    const onBatch = (): void => {};
    await expect(
      createKvEventSubscriber({ mode: 'central', bindEndpoint: 'localhost:5557', onBatch }),
    ).rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringMatching(/bindEndpoint/) });
    await expect(
      createKvEventSubscriber({ mode: 'per-pod', onBatch, replayTimeoutMilliseconds: 0 }),
    ).rejects.toMatchObject({ code: 'invalid_argument' });

    const central = await startSubscriber({ mode: 'central', bindEndpoint: 'tcp://127.0.0.1:*', onBatch });
    expect(() => central.addEndpoint({ endpointKey: keyA, eventsEndpoint: 'tcp://127.0.0.1:5557' })).toThrow(
      /per-pod mode/,
    );
    const error = await createKvEventSubscriber({
      mode: 'central',
      bindEndpoint: central.endpoint as string,
      onBatch,
    }).catch((caught: unknown) => caught);
    expect(LlmdError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'invalid_config', path: 'bindEndpoint' });

    const perPod = await startSubscriber({ mode: 'per-pod', onBatch });
    expect(() => perPod.addEndpoint({ endpointKey: '', eventsEndpoint: 'tcp://127.0.0.1:5557' })).toThrow(
      /endpointKey/,
    );
    expect(() => perPod.addEndpoint({ endpointKey: keyA, eventsEndpoint: 'http://x' })).toThrow(
      /eventsEndpoint/,
    );
  });
});
