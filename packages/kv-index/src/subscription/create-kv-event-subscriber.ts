import { InvalidArgumentError, LlmdError, type Logger, noopLogger } from '@llmd/core';
import { Subscriber } from 'zeromq';
import { createKvEventBatchDecoder, type DecodedKvEventBatch } from '../events/decode-kv-event-batch.js';
import { parseKvEventTopic } from '../events/parse-kv-event-topic.js';
import { BoundedQueue } from './bounded-queue.js';
import { runConnectReplay } from './connect-replay.js';
import type { KvEventDelivery, KvEventPublisherIdentity, KvEventUncertainty } from './kv-event-delivery.js';
import {
  type KvEventEndpointTarget,
  type KvEventSubscriberOptions,
  type ResolvedKvEventSubscriberOptions,
  resolveKvEventEndpointTarget,
  resolveKvEventSubscriberOptions,
} from './kv-event-subscriber-options.js';
import {
  type KvEventCounterName,
  type KvEventEndpointStats,
  type KvEventStreamState,
  type KvEventSubscriberStats,
  type MutableCounters,
  zeroCounters,
} from './kv-event-subscriber-stats.js';
import { parseLiveMessageFrames } from './live-message-frames.js';
import { PerKeyThrottle } from './per-key-throttle.js';
import { PublisherStream, type StreamBatch } from './publisher-stream.js';
import { ReplaySlots } from './replay-slots.js';
import { requestReplay } from './request-replay.js';

export interface KvEventSubscriber {
  readonly mode: 'central' | 'per-pod';
  /** Central mode: the bound endpoint, wildcard port resolved. Undefined in per-pod mode. */
  readonly endpoint: string | undefined;
  /**
   * Per-pod mode: dial an engine (idempotent; a changed events endpoint reconnects, a changed
   * replay endpoint applies to the next replay). With a replay endpoint, everything the engine
   * still buffers is replayed from sequence 0 right after connecting, so an idle engine's earlier
   * batches are delivered without waiting for its next one; live batches wait meanwhile.
   * Throws `invalid_argument` in central mode.
   */
  addEndpoint(target: KvEventEndpointTarget): void;
  /**
   * Stops delivering an endpoint's batches at once and forgets its state and stats. In per-pod
   * mode it also disconnects; in central mode the engine keeps sending, and its next batch is
   * treated as a first one. Returns false when the endpoint was unknown.
   */
  removeEndpoint(endpointKey: string): boolean;
  stats(): KvEventSubscriberStats;
  /** Closes every socket (linger 0), aborts replays and waits for the loops to end. Idempotent. */
  close(): Promise<void>;
}

interface EndpointRecord {
  readonly endpointKey: string;
  readonly counters: MutableCounters;
  readonly streams: Map<string, PublisherStream>;
  lastSequence: bigint | null;
  lastEventTime: number | null;
  /** Per-pod mode only: what discovery reported, and the socket dialling it. */
  target: KvEventEndpointTarget | undefined;
  socket: Subscriber | undefined;
  /** Per-pod mode with a replay endpoint: aborts the replay made right after connecting. */
  connectAbort: AbortController | undefined;
  /** Live batches waiting while the replay after connecting runs; undefined otherwise. */
  held: BoundedQueue<LiveBatch> | undefined;
}

/** A decoded live batch and the publisher it belongs to. */
interface LiveBatch {
  readonly topic: string;
  readonly modelName: string;
  readonly dataParallelRank: number | null;
  readonly batch: StreamBatch;
}

type TotalsCounters = MutableCounters & {
  messages: number;
  unattributedMalformed: number;
  rejectedPublishers: number;
};

const statePrecedence: Record<KvEventStreamState, number> = { synced: 0, uncertain: 1, replaying: 2 };

/**
 * Subscribes to vLLM KV events over ZeroMQ (kv-events.md §4, §7) and hands decoded batches to
 * `onBatch` in order per publisher, filling sequence gaps by replay where possible.
 *
 * Per-pod mode gives every engine its own SUB socket rather than sharing one: a message then
 * always says which engine sent it (so topic-less vLLM defaults work), removing an engine discards
 * whatever it had in flight, and a noisy engine cannot starve the others' queues.
 */
export async function createKvEventSubscriber(options: KvEventSubscriberOptions): Promise<KvEventSubscriber> {
  const settings = resolveKvEventSubscriberOptions(options);
  const runtime = new SubscriberRuntime(settings);
  if (settings.mode === 'central') await runtime.bindCentral(settings.bindEndpoint);
  return {
    mode: settings.mode,
    get endpoint() {
      return runtime.boundEndpoint;
    },
    addEndpoint: (target) => runtime.addEndpoint(target),
    removeEndpoint: (endpointKey) => runtime.removeEndpoint(endpointKey),
    stats: () => runtime.stats(),
    close: () => runtime.close(),
  };
}

class SubscriberRuntime {
  boundEndpoint: string | undefined;
  private readonly settings: ResolvedKvEventSubscriberOptions;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly decode: (payload: Uint8Array) => DecodedKvEventBatch;
  private readonly throttle: PerKeyThrottle;
  private readonly replaySlots: ReplaySlots;
  private readonly endpoints = new Map<string, EndpointRecord>();
  private readonly totals: TotalsCounters = {
    ...zeroCounters(),
    messages: 0,
    unattributedMalformed: 0,
    rejectedPublishers: 0,
  };
  /** Receive loops and stopping streams, awaited by `close`. */
  private readonly pending = new Set<Promise<void>>();
  private centralSocket: Subscriber | undefined;
  private publisherCount = 0;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(settings: ResolvedKvEventSubscriberOptions) {
    this.settings = settings;
    this.logger = (settings.logger ?? noopLogger).child({ component: 'kv-event-subscriber' });
    this.now = settings.now ?? Date.now;
    this.decode = createKvEventBatchDecoder(settings.decoder);
    this.throttle = new PerKeyThrottle(settings.malformedLogIntervalMilliseconds, this.now);
    this.replaySlots = new ReplaySlots(settings.maxConcurrentReplays);
  }

  async bindCentral(bindEndpoint: string): Promise<void> {
    const socket = this.createSocket();
    try {
      await socket.bind(bindEndpoint);
    } catch (error) {
      socket.close();
      throw new LlmdError(
        'invalid_config',
        `cannot bind the KV-event SUB socket to ${bindEndpoint}: ${describeError(error)}`,
        { cause: error, path: 'bindEndpoint' },
      );
    }
    this.centralSocket = socket;
    this.boundEndpoint = socket.lastEndpoint ?? bindEndpoint;
    this.logger.info({ endpoint: this.boundEndpoint }, 'KV-event subscriber bound');
    this.track(this.receiveLoop(socket, undefined));
  }

  addEndpoint(input: KvEventEndpointTarget): void {
    if (this.settings.mode !== 'per-pod') {
      throw new InvalidArgumentError(
        'addEndpoint needs per-pod mode; in central mode engines connect to the bound socket',
      );
    }
    if (this.closed) throw new InvalidArgumentError('cannot add an endpoint to a closed KV-event subscriber');
    const target = resolveKvEventEndpointTarget(input);
    const existing = this.endpoints.get(target.endpointKey);
    if (existing?.target !== undefined) {
      if (existing.target.eventsEndpoint === target.eventsEndpoint) {
        existing.target = target;
        return;
      }
      this.removeEndpoint(target.endpointKey);
    }
    const socket = this.createSocket();
    try {
      socket.connect(target.eventsEndpoint);
    } catch (error) {
      socket.close();
      throw new LlmdError(
        'invalid_argument',
        `cannot connect to the KV-event endpoint ${target.eventsEndpoint}: ${describeError(error)}`,
        { cause: error, path: 'eventsEndpoint' },
      );
    }
    const record = this.newRecord(target.endpointKey);
    record.target = target;
    record.socket = socket;
    this.endpoints.set(target.endpointKey, record);
    this.logger.debug({ ...target }, 'KV-event endpoint added');
    this.track(this.receiveLoop(socket, record));
    if (target.replayEndpoint !== undefined)
      this.track(this.replayAfterConnecting(record, target.replayEndpoint));
  }

  removeEndpoint(endpointKey: string): boolean {
    const record = this.endpoints.get(endpointKey);
    if (record === undefined) return false;
    this.endpoints.delete(endpointKey);
    record.connectAbort?.abort();
    record.held?.clear();
    record.socket?.close();
    for (const stream of record.streams.values()) this.track(stream.stop());
    this.publisherCount -= record.streams.size;
    for (const category of throttleCategories) this.throttle.forget(`${category}:${endpointKey}`);
    this.logger.debug({ endpointKey }, 'KV-event endpoint removed');
    return true;
  }

  stats(): KvEventSubscriberStats {
    const endpoints: KvEventEndpointStats[] = [];
    for (const record of this.endpoints.values()) {
      const publishers = [...record.streams.values()].map((stream) => stream.stats);
      let state: KvEventStreamState = record.held === undefined ? 'synced' : 'replaying';
      for (const publisher of publishers) {
        if (statePrecedence[publisher.state] > statePrecedence[state]) state = publisher.state;
      }
      endpoints.push({
        endpointKey: record.endpointKey,
        ...record.counters,
        state,
        lastSequence: record.lastSequence,
        lastEventTime: record.lastEventTime,
        publishers,
      });
    }
    endpoints.sort((left, right) => (left.endpointKey < right.endpointKey ? -1 : 1));
    return { endpoints, totals: { ...this.totals } };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.centralSocket?.close();
      for (const endpointKey of [...this.endpoints.keys()]) this.removeEndpoint(endpointKey);
      // Loops and streams may add to the set while finishing; wait until it stays empty.
      while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
      this.logger.debug({}, 'KV-event subscriber closed');
    })();
    return this.closing;
  }

  private createSocket(): Subscriber {
    const socket = new Subscriber({
      linger: 0,
      receiveHighWaterMark: this.settings.receiveHighWaterMark,
      maxMessageSize: this.settings.maxMessageBytes,
    });
    socket.subscribe(this.settings.topicFilter);
    return socket;
  }

  private track(work: Promise<void>): void {
    // The work is not expected to reject; if it does, log it rather than leave it unhandled.
    const settled: Promise<void> = work
      .catch((error: unknown) => {
        this.logger.error({ error: describeError(error) }, 'KV-event subscriber task failed');
      })
      .finally(() => {
        this.pending.delete(settled);
      });
    this.pending.add(settled);
  }

  private newRecord(endpointKey: string): EndpointRecord {
    return {
      endpointKey,
      counters: zeroCounters(),
      streams: new Map(),
      lastSequence: null,
      lastEventTime: null,
      target: undefined,
      socket: undefined,
      connectAbort: undefined,
      held: undefined,
    };
  }

  /**
   * Per-pod mode, right after dialling: replays the engine's buffer from sequence 0 (see
   * `runConnectReplay`). Live batches arriving meanwhile are held back (bounded), then handed to
   * their streams, where those the replay already delivered are dropped as duplicates.
   */
  private async replayAfterConnecting(record: EndpointRecord, endpoint: string): Promise<void> {
    const abort = new AbortController();
    const { signal } = abort;
    record.connectAbort = abort;
    record.held = new BoundedQueue(this.settings.maxQueuedBatchesPerPublisher);
    try {
      await runConnectReplay({
        endpoint,
        requestReplay,
        replayTimeoutMilliseconds: this.settings.replayTimeoutMilliseconds,
        replaySlots: this.replaySlots,
        decode: this.decode,
        signal,
        accept: (topic, batch) => this.acceptConnectReplayed(record, topic, batch),
        count: (name) => this.count(record, name, 1),
        malformed: (reason) => this.recordMalformed(record, reason, undefined),
        logger: this.logger.child({ endpointKey: record.endpointKey }),
      });
    } finally {
      const held = record.held;
      record.held = undefined;
      record.connectAbort = undefined;
      if (!signal.aborted) {
        for (let live = held.shift(); live !== undefined; live = held.shift()) this.offerLive(record, live);
      }
    }
  }

  private async acceptConnectReplayed(
    record: EndpointRecord,
    topic: string,
    batch: StreamBatch,
  ): Promise<void> {
    if (this.endpoints.get(record.endpointKey) !== record) return;
    // The SUB socket would never have received it: not a batch of this subscription.
    if (!topic.startsWith(this.settings.topicFilter)) {
      this.recordMalformed(record, `replay answered with topic "${topic}", outside the topic filter`, topic);
      return;
    }
    const modelName = parseKvEventTopic(topic, { defaultPort: this.settings.defaultPort })?.modelName ?? '';
    const stream = this.streamFor(record, topic, modelName, batch.decoded.batch.dataParallelRank);
    if (stream === undefined) return;
    stream.offerReplayed(batch);
    await stream.drained();
  }

  private offerLive(record: EndpointRecord, live: LiveBatch): void {
    this.streamFor(record, live.topic, live.modelName, live.dataParallelRank)?.offer(live.batch);
  }

  /**
   * Reads one socket until it is closed. Nothing thrown here may escape: a failing receive is
   * logged and retried after a short pause, a failing message is logged and skipped.
   */
  private async receiveLoop(socket: Subscriber, record: EndpointRecord | undefined): Promise<void> {
    let consecutiveFailures = 0;
    while (!socket.closed) {
      let frames: Buffer[];
      try {
        frames = await socket.receive();
        consecutiveFailures = 0;
      } catch (error) {
        if (socket.closed) return;
        consecutiveFailures += 1;
        this.logger.error(
          { endpointKey: record?.endpointKey, error: describeError(error), consecutiveFailures },
          'KV-event receive failed',
        );
        await pause(Math.min(1_000, 10 * 2 ** consecutiveFailures));
        continue;
      }
      try {
        this.handleMessage(frames, record);
      } catch (error) {
        this.logger.error(
          { endpointKey: record?.endpointKey, error: describeError(error) },
          'KV-event message failed',
        );
      }
    }
  }

  private handleMessage(frames: ReadonlyArray<Uint8Array>, socketRecord: EndpointRecord | undefined): void {
    this.totals.messages += 1;
    // Ignore what a removed endpoint's socket had already handed over.
    if (socketRecord !== undefined && this.endpoints.get(socketRecord.endpointKey) !== socketRecord) return;
    const parsed = parseLiveMessageFrames(frames, { allowMissingTopic: socketRecord !== undefined });
    if (!parsed.ok) {
      const record = socketRecord ?? this.centralRecordForTopic(parsed.topic);
      this.recordMalformed(record, parsed.reason, parsed.topic);
      return;
    }
    const { topic, sequence, payload } = parsed.message;
    const topicParts = parseKvEventTopic(topic, { defaultPort: this.settings.defaultPort });
    let record = socketRecord;
    if (record === undefined) {
      if (topicParts === null) {
        this.recordMalformed(undefined, 'the topic does not follow kv@<ip:port>@<model>', topic);
        return;
      }
      record = this.centralRecord(topicParts.endpointKey);
      if (record === undefined) return;
    } else if (topicParts !== null && topicParts.endpointKey !== record.endpointKey) {
      this.warnThrottled(
        'topic',
        record.endpointKey,
        { topic, topicEndpointKey: topicParts.endpointKey },
        'KV-event topic names another endpoint than discovery did; using the discovered one',
      );
    }
    let decoded: DecodedKvEventBatch;
    try {
      decoded = this.decode(payload);
    } catch (error) {
      this.recordMalformed(record, `batch ${sequence}: ${describeError(error)}`, topic);
      return;
    }
    const live: LiveBatch = {
      topic,
      modelName: topicParts?.modelName ?? '',
      dataParallelRank: decoded.batch.dataParallelRank,
      batch: { sequence, decoded },
    };
    if (record.held === undefined) this.offerLive(record, live);
    else if (!record.held.push(live)) this.count(record, 'droppedBatches', 1);
  }

  /** The record for a topic's endpoint in central mode, created on first sight within limits. */
  private centralRecord(endpointKey: string): EndpointRecord | undefined {
    const existing = this.endpoints.get(endpointKey);
    if (existing !== undefined) return existing;
    if (this.endpoints.size >= this.settings.maxPublishers) {
      this.rejectPublisher(endpointKey);
      return undefined;
    }
    const record = this.newRecord(endpointKey);
    this.endpoints.set(endpointKey, record);
    return record;
  }

  /** Attributes a malformed central-mode message to its endpoint when its topic allows. */
  private centralRecordForTopic(topic: string | undefined): EndpointRecord | undefined {
    if (topic === undefined) return undefined;
    const parts = parseKvEventTopic(topic, { defaultPort: this.settings.defaultPort });
    return parts === null ? undefined : this.centralRecord(parts.endpointKey);
  }

  private streamFor(
    record: EndpointRecord,
    topic: string,
    modelName: string,
    dataParallelRank: number | null,
  ): PublisherStream | undefined {
    const streamKey = `${dataParallelRank ?? ''}@${topic}`;
    const existing = record.streams.get(streamKey);
    if (existing !== undefined) return existing;
    if (this.publisherCount >= this.settings.maxPublishers) {
      this.rejectPublisher(record.endpointKey);
      return undefined;
    }
    const identity: KvEventPublisherIdentity = {
      endpointKey: record.endpointKey,
      modelName,
      topic,
      dataParallelRank,
    };
    const stream = new PublisherStream({
      identity,
      maxQueuedBatches: this.settings.maxQueuedBatchesPerPublisher,
      decode: this.decode,
      replayEndpoint: () => this.replayEndpointFor(record, identity),
      requestReplay,
      replayTimeoutMilliseconds: this.settings.replayTimeoutMilliseconds,
      replaySlots: this.replaySlots,
      count: (name, amount = 1) => this.count(record, name, amount),
      deliver: (delivery, unknownEventTags) => this.deliver(record, delivery, unknownEventTags),
      uncertain: (uncertainty) => this.reportUncertain(identity, uncertainty),
      restarted: () => this.reportRestart(identity),
      malformed: (reason) => this.recordMalformed(record, reason, topic),
      logger: this.logger.child({ endpointKey: record.endpointKey, topic, dataParallelRank }),
    });
    record.streams.set(streamKey, stream);
    this.publisherCount += 1;
    return stream;
  }

  private replayEndpointFor(record: EndpointRecord, identity: KvEventPublisherIdentity): string | undefined {
    if (record.target !== undefined) return record.target.replayEndpoint;
    if (this.settings.mode !== 'central' || this.settings.replayEndpoints === undefined) return undefined;
    try {
      return this.settings.replayEndpoints(record.endpointKey, identity) || undefined;
    } catch (error) {
      this.logger.error(
        { endpointKey: record.endpointKey, error: describeError(error) },
        'replayEndpoints threw',
      );
      return undefined;
    }
  }

  private count(record: EndpointRecord, name: KvEventCounterName, amount: number): void {
    record.counters[name] += amount;
    this.totals[name] += amount;
  }

  private async deliver(
    record: EndpointRecord,
    delivery: KvEventDelivery,
    unknownEventTags: ReadonlyArray<string>,
  ): Promise<void> {
    if (this.endpoints.get(record.endpointKey) !== record) return;
    this.count(record, 'batches', 1);
    this.count(record, 'events', delivery.batch.events.length);
    record.lastSequence = delivery.sequence;
    record.lastEventTime = this.now();
    if (unknownEventTags.length > 0) {
      this.count(record, 'unknownEventTags', unknownEventTags.length);
      this.warnThrottled(
        'unknown',
        record.endpointKey,
        { tags: [...new Set(unknownEventTags)] },
        'skipping KV events of unknown types (newer engine?)',
      );
    }
    try {
      await this.settings.onBatch(delivery);
    } catch (error) {
      this.count(record, 'handlerErrors', 1);
      this.warnThrottled(
        'handler',
        record.endpointKey,
        { sequence: delivery.sequence.toString(), error: describeError(error) },
        'KV-event onBatch failed',
      );
    }
  }

  private reportUncertain(identity: KvEventPublisherIdentity, uncertainty: KvEventUncertainty): void {
    this.logger.warn(
      {
        endpointKey: identity.endpointKey,
        topic: identity.topic,
        expected: uncertainty.expected.toString(),
        received: uncertainty.received.toString(),
        reason: uncertainty.reason,
      },
      'KV events lost; the index may be missing blocks for this endpoint',
    );
    this.callSafely('onUncertain', () =>
      this.settings.onUncertain?.(identity.endpointKey, uncertainty, identity),
    );
  }

  private reportRestart(identity: KvEventPublisherIdentity): void {
    this.logger.info(
      { endpointKey: identity.endpointKey, topic: identity.topic },
      'KV-event publisher restarted',
    );
    this.callSafely('onRestart', () => this.settings.onRestart?.(identity.endpointKey, identity));
  }

  private callSafely(name: string, callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.logger.error({ error: describeError(error) }, `KV-event ${name} callback threw`);
    }
  }

  private recordMalformed(
    record: EndpointRecord | undefined,
    reason: string,
    topic: string | undefined,
  ): void {
    this.totals.malformed += 1;
    if (record === undefined) this.totals.unattributedMalformed += 1;
    else record.counters.malformed += 1;
    this.warnThrottled(
      'malformed',
      record?.endpointKey ?? '',
      { topic, reason },
      'dropping malformed KV-event message',
    );
  }

  private rejectPublisher(endpointKey: string): void {
    this.totals.rejectedPublishers += 1;
    this.warnThrottled(
      'limit',
      '',
      { endpointKey, maxPublishers: this.settings.maxPublishers },
      'too many KV-event publishers; ignoring a new one',
    );
  }

  private warnThrottled(
    category: ThrottleCategory,
    endpointKey: string,
    fields: Record<string, unknown>,
    message: string,
  ): void {
    const allowed = this.throttle.attempt(`${category}:${endpointKey}`);
    if (allowed === undefined) return;
    this.logger.warn(
      {
        endpointKey: endpointKey === '' ? undefined : endpointKey,
        ...fields,
        suppressedSinceLastLog: allowed.suppressed,
      },
      message,
    );
  }
}

const throttleCategories = ['malformed', 'topic', 'unknown', 'handler', 'limit'] as const;
type ThrottleCategory = (typeof throttleCategories)[number];

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function pause(milliseconds: number): Promise<void> {
  return new Promise((resolve) => {
    // Unreferenced: a pause between retries must not keep the process alive on its own.
    setTimeout(resolve, milliseconds).unref();
  });
}
