import { type KvEvent, LlmdError, ValidationError } from '@llmd/core';
import { decode } from '@msgpack/msgpack';
import { afterEach, describe, expect, it } from 'vitest';
import { Dealer, Subscriber } from 'zeromq';
import {
  createKvEventPublisher,
  type KvEventPublisher,
  type KvEventPublisherOptions,
} from './kv-event-publisher.js';
import { encodeSequenceFrame } from './sequence-frame.js';

const topic = 'kv@10.0.0.7:8000@Qwen/Qwen3-32B';
const fixedClock = (): number => 1_700_000_000_500;
/** Generous bound so a lost message fails the test instead of hanging it; never asserted on. */
const receiveTimeoutMilliseconds = 5_000;

const openPublishers: KvEventPublisher[] = [];
const openSockets: Array<Subscriber | Dealer> = [];

afterEach(async () => {
  for (const socket of openSockets.splice(0)) {
    socket.linger = 0;
    socket.close();
  }
  await Promise.all(openPublishers.splice(0).map((publisher) => publisher.close()));
});

async function startPublisher(options: KvEventPublisherOptions): Promise<KvEventPublisher> {
  const publisher = await createKvEventPublisher({ now: fixedClock, ...options });
  openPublishers.push(publisher);
  return publisher;
}

function track<Socket extends Subscriber | Dealer>(socket: Socket): Socket {
  openSockets.push(socket);
  return socket;
}

function removed(hash: bigint): KvEvent {
  return { type: 'BlockRemoved', blockHashes: [hash], medium: 'GPU' };
}

const probeEvent: KvEvent = { type: 'AllBlocksCleared' };

function sequenceOf(frame: Buffer | undefined): bigint | undefined {
  return frame?.length === 8 ? frame.readBigUInt64BE(0) : undefined;
}

function decodePayload(frame: Buffer | undefined): unknown {
  if (frame === undefined) throw new Error('missing payload frame');
  return decode(frame, { useBigInt64: true });
}

function isProbe(frames: Buffer[]): boolean {
  const payload = decodePayload(frames[2]) as [number, unknown[], number];
  return payload[1].length === 1 && (payload[1][0] as unknown[])[0] === 'AllBlocksCleared';
}

/**
 * PUB/SUB "slow joiner": a subscription reaches the publisher some time after connecting, and
 * everything published before that is dropped. Publish probe batches until one arrives; the
 * probes consume sequence numbers 0…count−1, so later batches have known sequence numbers.
 */
async function synchronise(publishers: KvEventPublisher[], subscriber: Subscriber): Promise<number> {
  subscriber.receiveTimeout = 50;
  const pendingTopics = new Set(publishers.map((publisher) => publisher.topic));
  let probes = 0;
  for (let attempt = 0; attempt < 200 && pendingTopics.size > 0; attempt += 1) {
    for (const publisher of publishers) publisher.publish([probeEvent]);
    probes += 1;
    try {
      for (;;) pendingTopics.delete((await subscriber.receive())[0]?.toString() ?? '');
    } catch {
      // Receive timed out: nothing more has arrived yet, so publish another probe.
    }
  }
  subscriber.receiveTimeout = receiveTimeoutMilliseconds;
  expect(pendingTopics.size).toBe(0);
  return probes;
}

/** Receives until `count` non-probe messages arrived; returns them in arrival order. */
async function receiveBatches(subscriber: Subscriber, count: number): Promise<Buffer[][]> {
  const messages: Buffer[][] = [];
  while (messages.length < count) {
    const frames = await subscriber.receive();
    if (!isProbe(frames)) messages.push(frames);
  }
  return messages;
}

describe('createKvEventPublisher', () => {
  it('binds a wildcard port and publishes [topic, seq, payload] with sequence numbers from 0', async () => {
    const publisher = await startPublisher({ endpoint: 'tcp://127.0.0.1:*', topic, dataParallelRank: 2 });
    expect(publisher.endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(publisher.replayEndpoint).toBeNull();
    const subscriber = track(new Subscriber());
    subscriber.connect(publisher.endpoint);
    subscriber.subscribe();

    const probes = await synchronise([publisher], subscriber);
    publisher.publish([removed(0xfedc_ba98_7654_3210n)]);
    publisher.publish([]);
    publisher.publish([removed(2n)]);
    publisher.publish([removed(3n)]);
    const messages = await receiveBatches(subscriber, 3);

    expect(messages.map((frames) => frames.length)).toEqual([3, 3, 3]);
    expect(messages.map((frames) => frames[0]?.toString())).toEqual([topic, topic, topic]);
    // Probes took 0…probes−1; the empty list was skipped without consuming a number.
    expect(messages.map((frames) => sequenceOf(frames[1]))).toEqual([
      BigInt(probes),
      BigInt(probes + 1),
      BigInt(probes + 2),
    ]);
    expect(messages.map((frames) => decodePayload(frames[2]))).toEqual([
      [1700000000.5, [['BlockRemoved', [0xfedc_ba98_7654_3210n], 'GPU', null]], 2],
      [1700000000.5, [['BlockRemoved', [2], 'GPU', null]], 2],
      [1700000000.5, [['BlockRemoved', [3], 'GPU', null]], 2],
    ]);
    await publisher.flush();
    expect(publisher.stats).toMatchObject({ droppedBatches: 0, sendFailures: 0, nextSequence: probes + 3 });
    expect(publisher.stats.publishedBatches).toBe(probes + 3);
  });

  it('connects to a bound subscriber when the endpoint names a peer, and can emit map-form events', async () => {
    const subscriber = track(new Subscriber());
    await subscriber.bind('tcp://127.0.0.1:*');
    subscriber.subscribe();
    const subscriberEndpoint = subscriber.lastEndpoint ?? '';
    const publisher = await startPublisher({ endpoint: subscriberEndpoint, topic, format: 'map' });
    expect(publisher.endpoint).toBe(subscriberEndpoint);

    const probes = await synchronise([publisher], subscriber);
    publisher.publish([removed(7n)]);
    const [frames] = await receiveBatches(subscriber, 1);
    expect(sequenceOf(frames?.[1])).toBe(BigInt(probes));
    expect(decodePayload(frames?.[2])).toEqual([
      1700000000.5,
      [{ type: 'BlockRemoved', block_hashes: [7], medium: 'GPU' }],
      0,
    ]);
  });

  it('lets an indexer filter on the kv@ topic prefix', async () => {
    const subscriber = track(new Subscriber());
    await subscriber.bind('tcp://127.0.0.1:*');
    const subscriberEndpoint = subscriber.lastEndpoint ?? '';
    const kvPublisher = await startPublisher({ endpoint: subscriberEndpoint, topic });
    const otherPublisher = await startPublisher({ endpoint: subscriberEndpoint, topic: 'metrics@10.0.0.7' });
    // Subscribe to everything until both publishers are proven connected, then narrow to `kv@`.
    // SUB sockets also filter locally on read, so anything already in flight is filtered too.
    subscriber.subscribe('kv@', '');
    await synchronise([kvPublisher, otherPublisher], subscriber);
    subscriber.unsubscribe('');

    for (let index = 0; index < 3; index += 1) {
      otherPublisher.publish([removed(100n + BigInt(index))]);
      kvPublisher.publish([removed(BigInt(index))]);
    }
    const messages = await receiveBatches(subscriber, 3);
    expect(messages.map((frames) => frames[0]?.toString())).toEqual([topic, topic, topic]);
    expect(messages.map((frames) => (decodePayload(frames[2]) as unknown[])[1])).toEqual([
      [['BlockRemoved', [0], 'GPU', null]],
      [['BlockRemoved', [1], 'GPU', null]],
      [['BlockRemoved', [2], 'GPU', null]],
    ]);
  });

  it('answers replay requests on a ROUTER with buffered batches and the end sentinel', async () => {
    const publisher = await startPublisher({
      endpoint: 'tcp://127.0.0.1:*',
      replayEndpoint: 'tcp://127.0.0.1:*',
      bufferSteps: 3,
      topic,
    });
    expect(publisher.replayEndpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    for (let index = 0; index < 5; index += 1) publisher.publish([removed(BigInt(index))]);
    await publisher.flush();

    const dealer = track(new Dealer({ receiveTimeout: receiveTimeoutMilliseconds }));
    dealer.connect(publisher.replayEndpoint ?? '');
    // A malformed request (no delimiter) is ignored; the server keeps serving.
    await dealer.send([encodeSequenceFrame(0)]);

    // Only the last 3 batches (seq 2…4) are still buffered.
    const fromZero = await replay(dealer, 0);
    expect(fromZero.map((frames) => frames.length)).toEqual([4, 4, 4, 4]);
    expect(fromZero.map((frames) => frames[0]?.length)).toEqual([0, 0, 0, 0]);
    expect(fromZero.map((frames) => frames[1]?.toString())).toEqual([topic, topic, topic, '']);
    expect(fromZero.map((frames) => frames[2]?.toString('hex'))).toEqual([
      '0000000000000002',
      '0000000000000003',
      '0000000000000004',
      'ffffffffffffffff',
    ]);
    expect(fromZero.slice(0, 3).map((frames) => (decodePayload(frames[3]) as unknown[])[1])).toEqual([
      [['BlockRemoved', [2], 'GPU', null]],
      [['BlockRemoved', [3], 'GPU', null]],
      [['BlockRemoved', [4], 'GPU', null]],
    ]);
    expect(fromZero[3]?.[3]?.length).toBe(0);

    const fromFour = await replay(dealer, 4);
    expect(fromFour.map((frames) => frames[2]?.toString('hex'))).toEqual([
      '0000000000000004',
      'ffffffffffffffff',
    ]);
    const pastTheEnd = await replay(dealer, 99);
    expect(pastTheEnd.map((frames) => frames[2]?.toString('hex'))).toEqual(['ffffffffffffffff']);
    expect(publisher.stats).toMatchObject({ replayRequests: 3, invalidReplayRequests: 1 });
  });

  it('drops batches when its queue is full, counts them, and keeps them replayable', async () => {
    const publisher = await startPublisher({
      endpoint: 'tcp://127.0.0.1:*',
      replayEndpoint: 'tcp://127.0.0.1:*',
      maxQueueSize: 2,
    });
    // Synchronous publishes give the drain loop no chance to run: the queue fills after two.
    for (let index = 0; index < 5; index += 1) publisher.publish([removed(BigInt(index))]);
    expect(publisher.stats).toMatchObject({ queuedBatches: 2, droppedBatches: 3, nextSequence: 5 });
    await publisher.flush();
    expect(publisher.stats).toMatchObject({ queuedBatches: 0, publishedBatches: 2, droppedBatches: 3 });

    const dealer = track(new Dealer({ receiveTimeout: receiveTimeoutMilliseconds }));
    dealer.connect(publisher.replayEndpoint ?? '');
    // Replay stops at the last batch the live stream handled, so dropped 2…4 are not offered yet…
    expect(sequences(await replay(dealer, 0))).toEqual(['0', '1', 'end']);
    // …but once a later batch went out live, the gap 2…4 can be filled by replay.
    publisher.publish([removed(5n)]);
    await publisher.flush();
    expect(sequences(await replay(dealer, 2))).toEqual(['2', '3', '4', '5', 'end']);
  });

  it('closes promptly and idempotently, sending what was queued and ignoring later publishes', async () => {
    const publisher = await startPublisher({ endpoint: 'inproc://kv-events-close-test' });
    expect(publisher.endpoint).toBe('inproc://kv-events-close-test');
    publisher.publish([removed(1n)]);
    await Promise.all([publisher.close(), publisher.close()]);
    publisher.publish([removed(2n)]);
    expect(publisher.stats).toMatchObject({ publishedBatches: 1, queuedBatches: 0, nextSequence: 1 });
    await publisher.flush();
  });

  it('rejects invalid options with the field path and reports bind failures', async () => {
    await expect(createKvEventPublisher({ endpoint: 'localhost:5557' })).rejects.toThrow(ValidationError);
    await expect(createKvEventPublisher({ endpoint: 'tcp://*:5557', maxQueueSize: 0 })).rejects.toThrow(
      /^kv event publisher options maxQueueSize: /,
    );
    const first = await startPublisher({ endpoint: 'tcp://127.0.0.1:*' });
    // The same port on the wildcard host: still a bind (it has a `*`), and the port is taken.
    const failure = await createKvEventPublisher({
      endpoint: first.endpoint.replace('127.0.0.1', '*'),
    }).catch((error: unknown) => error);
    expect(LlmdError.isInstance(failure)).toBe(true);
    expect((failure as LlmdError).code).toBe('invalid_config');
    expect((failure as LlmdError).message).toMatch(/cannot bind the KV-event publisher socket/);
  });
});

async function replay(dealer: Dealer, startSequence: number): Promise<Buffer[][]> {
  await dealer.send([Buffer.alloc(0), encodeSequenceFrame(startSequence)]);
  const messages: Buffer[][] = [];
  for (;;) {
    const frames = await dealer.receive();
    messages.push(frames);
    if (frames[2]?.toString('hex') === 'ffffffffffffffff') return messages;
  }
}

function sequences(messages: Buffer[][]): string[] {
  return messages.map((frames) => {
    const sequence = sequenceOf(frames[2]);
    return sequence === 0xffff_ffff_ffff_ffffn ? 'end' : String(sequence);
  });
}
