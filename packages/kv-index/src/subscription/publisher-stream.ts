import type { Logger } from '@llmd/core';
import type { DecodedKvEventBatch, KvEventBatchDecoder } from '../events/decode-kv-event-batch.js';
import { BoundedQueue } from './bounded-queue.js';
import { classifyLiveSequence } from './classify-live-sequence.js';
import type { KvEventDelivery, KvEventPublisherIdentity, KvEventUncertainty } from './kv-event-delivery.js';
import type {
  KvEventCounterName,
  KvEventPublisherStreamStats,
  KvEventStreamState,
} from './kv-event-subscriber-stats.js';
import type { ReplaySlots } from './replay-slots.js';
import type { ReplayRequester } from './request-replay.js';

/** A live batch, decoded, waiting for its turn. */
export interface StreamBatch {
  readonly sequence: bigint;
  readonly decoded: DecodedKvEventBatch;
}

/** A queued batch: live, or fetched by the replay made right after connecting. */
interface InboxItem {
  readonly batch: StreamBatch;
  readonly replayed: boolean;
}

/** What a stream needs from its subscriber; callbacks must not throw. */
export interface PublisherStreamContext {
  readonly identity: KvEventPublisherIdentity;
  readonly maxQueuedBatches: number;
  readonly decode: KvEventBatchDecoder;
  /** Looked up at each replay, because discovery may learn or change it at any time. */
  readonly replayEndpoint: () => string | undefined;
  readonly requestReplay: ReplayRequester;
  readonly replayTimeoutMilliseconds: number;
  readonly replaySlots: ReplaySlots;
  readonly count: (name: KvEventCounterName, amount?: number) => void;
  readonly deliver: (delivery: KvEventDelivery, unknownEventTags: ReadonlyArray<string>) => Promise<void>;
  readonly uncertain: (uncertainty: KvEventUncertainty) => void;
  readonly restarted: () => void;
  readonly malformed: (reason: string) => void;
  readonly logger: Logger;
}

/**
 * The ordered event stream of one publisher (kv-events.md §4, §8 #3–4). Live batches go through a
 * bounded queue drained by a single loop, so batches reach the consumer strictly in sequence order
 * even while a replay is fetching missing ones:
 *
 * - batches of the replay made right after connecting (per-pod mode, {@link offerReplayed}) take
 *   their place in the queue like live ones, and are handled like the batches of any replay;
 * - first batch: when a replay socket is known and the batch is not sequence 0, replay from 0 to
 *   fill what was published before the subscription reached the publisher;
 * - gap: replay from the first missing sequence; without a replay socket (or when a replay does
 *   not cover the gap) report the loss through `uncertain` and carry on;
 * - live sequence going backwards: the engine restarted; report it, then expect sequence 0;
 * - batches a replay already delivered are dropped.
 *
 * A replay is never repeated for the same starting point, so an unfillable gap cannot loop.
 */
export class PublisherStream {
  private readonly context: PublisherStreamContext;
  private readonly inbox: BoundedQueue<InboxItem>;
  private readonly abortController = new AbortController();
  private lastDelivered: bigint | null = null;
  private lastReceived: bigint | null = null;
  private lastReplayStart: bigint | null = null;
  private replaying = false;
  private uncertain = false;
  private stopped = false;
  private pumpActive = false;
  private pumpDone: Promise<void> = Promise.resolve();

  constructor(context: PublisherStreamContext) {
    this.context = context;
    this.inbox = new BoundedQueue(context.maxQueuedBatches);
  }

  get identity(): KvEventPublisherIdentity {
    return this.context.identity;
  }

  get state(): KvEventStreamState {
    if (this.replaying) return 'replaying';
    return this.uncertain ? 'uncertain' : 'synced';
  }

  get stats(): KvEventPublisherStreamStats {
    const { topic, modelName, dataParallelRank } = this.context.identity;
    const lastDelivered = this.lastDelivered;
    return {
      topic,
      modelName,
      dataParallelRank,
      state: this.state,
      lastSequence: lastDelivered === null || lastDelivered < 0n ? null : lastDelivered,
      queuedBatches: this.inbox.length,
    };
  }

  /** Queues a live batch; never blocks. A full queue drops it, which later shows up as a gap. */
  offer(batch: StreamBatch): void {
    this.enqueue({ batch, replayed: false });
  }

  /**
   * Queues a batch the replay after connecting fetched, behind whatever is already queued. Like
   * any replayed batch, the first one is the baseline, later ones already delivered are dropped,
   * and a hole is reported as `uncertain`. Await {@link drained} before offering the next one, so
   * a long replay never overflows the queue.
   */
  offerReplayed(batch: StreamBatch): void {
    this.enqueue({ batch, replayed: true });
  }

  private enqueue(item: InboxItem): void {
    if (this.stopped) return;
    if (!this.inbox.push(item)) {
      this.context.count('droppedBatches');
      return;
    }
    if (!this.pumpActive) {
      this.pumpActive = true;
      this.pumpDone = this.pump();
    }
  }

  /** Stops deliveries at once (even mid-replay) and resolves when the stream is idle. */
  stop(): Promise<void> {
    this.stopped = true;
    this.abortController.abort();
    this.inbox.clear();
    return this.drained();
  }

  /** Resolves once every queued batch has been handled (including any replay it triggered). */
  async drained(): Promise<void> {
    while (this.pumpActive) await this.pumpDone;
  }

  private async pump(): Promise<void> {
    try {
      for (let item = this.inbox.shift(); item !== undefined; item = this.inbox.shift()) {
        if (this.stopped) return;
        if (item.replayed) await this.acceptReplayed(item.batch);
        else await this.processLive(item.batch);
      }
    } catch (error) {
      // Only a bug can land here: every callback is wrapped. Keep the stream alive regardless.
      this.context.logger.error({ error: String(error) }, 'KV-event stream failed unexpectedly');
    } finally {
      this.pumpActive = false;
    }
  }

  private async processLive(batch: StreamBatch): Promise<void> {
    const { sequence } = batch;
    const verdict = classifyLiveSequence(
      { lastDelivered: this.lastDelivered, lastReceived: this.lastReceived },
      sequence,
    );
    this.lastReceived = sequence;
    switch (verdict) {
      case 'next':
        return this.deliver(batch, false);
      case 'duplicate':
        this.context.count('duplicates');
        return;
      case 'first': {
        const replayEndpoint = sequence === 0n ? undefined : this.context.replayEndpoint();
        if (replayEndpoint !== undefined) return this.replayThenDeliver(replayEndpoint, 0n, batch);
        return this.deliver(batch, false);
      }
      case 'restart':
        this.context.count('restarts');
        this.lastDelivered = -1n;
        this.lastReplayStart = null;
        this.uncertain = false;
        this.context.restarted();
        if (sequence === 0n) return this.deliver(batch, false);
        return this.handleGap(0n, batch);
      case 'gap':
        return this.handleGap((this.lastDelivered ?? -1n) + 1n, batch);
    }
  }

  private handleGap(expected: bigint, batch: StreamBatch): Promise<void> {
    this.context.count('gaps');
    const replayEndpoint = this.context.replayEndpoint();
    if (replayEndpoint !== undefined && expected !== this.lastReplayStart) {
      return this.replayThenDeliver(replayEndpoint, expected, batch);
    }
    this.markUncertain({
      expected,
      received: batch.sequence,
      reason: replayEndpoint === undefined ? 'no_replay_endpoint' : 'replay_incomplete',
    });
    return this.deliver(batch, false);
  }

  /**
   * Replays from `startSequence`, delivering replayed batches as they arrive, then delivers the
   * live batch that triggered the replay unless the replay already did. Live batches arriving
   * meanwhile wait in the inbox.
   */
  private async replayThenDeliver(
    endpoint: string,
    startSequence: bigint,
    trigger: StreamBatch,
  ): Promise<void> {
    const { context } = this;
    context.count('replays');
    this.lastReplayStart = startSequence;
    this.replaying = true;
    let failure: string | undefined;
    const release = await context.replaySlots.acquire(this.abortController.signal);
    if (release === undefined) return;
    try {
      const replies = context.requestReplay({
        endpoint,
        startSequence,
        timeoutMilliseconds: context.replayTimeoutMilliseconds,
        signal: this.abortController.signal,
      });
      for await (const reply of replies) {
        if (this.stopped) return;
        if (reply.kind === 'malformed') {
          context.malformed(`replay from ${endpoint}: ${reply.reason}`);
          continue;
        }
        const replayed = this.decodeReplayed(endpoint, reply.topic, reply.sequence, reply.payload);
        if (replayed !== undefined) await this.acceptReplayed(replayed);
      }
    } catch (error) {
      if (this.stopped) return;
      failure = error instanceof Error ? error.message : String(error);
      context.count('replayFailures');
      context.logger.warn({ replayEndpoint: endpoint, error: failure }, 'KV-event replay failed');
    } finally {
      release();
      this.replaying = false;
    }
    if (this.stopped) return;
    const lastDelivered = this.lastDelivered;
    if (lastDelivered !== null && trigger.sequence <= lastDelivered) {
      context.count('duplicates');
      return;
    }
    const expected = lastDelivered === null ? startSequence : lastDelivered + 1n;
    if (trigger.sequence !== expected) {
      this.markUncertain({
        expected,
        received: trigger.sequence,
        reason: failure === undefined ? 'replay_incomplete' : 'replay_failed',
      });
    }
    await this.deliver(trigger, false);
  }

  private decodeReplayed(
    endpoint: string,
    topic: string | undefined,
    sequence: bigint,
    payload: Uint8Array,
  ): StreamBatch | undefined {
    const { identity } = this.context;
    // A misconfigured replay endpoint could belong to another engine: never mix its batches in.
    if (topic !== undefined && topic !== identity.topic) {
      this.context.malformed(
        `replay from ${endpoint} answered with topic "${topic}", expected "${identity.topic}"`,
      );
      return undefined;
    }
    let decoded: DecodedKvEventBatch;
    try {
      decoded = this.context.decode(payload);
    } catch (error) {
      this.context.malformed(
        `replayed batch ${sequence}: ${error instanceof Error ? error.message : String(error)}`,
      );
      return undefined;
    }
    const rank = decoded.batch.dataParallelRank;
    if (rank !== identity.dataParallelRank) {
      this.context.malformed(
        `replay from ${endpoint} answered for data-parallel rank ${rank}, not ${identity.dataParallelRank}`,
      );
      return undefined;
    }
    return { sequence, decoded };
  }

  private acceptReplayed(batch: StreamBatch): Promise<void> | undefined {
    const lastDelivered = this.lastDelivered;
    // After subscribing, whatever the replay buffer still holds is the baseline: older batches
    // were evicted before this subscriber existed, which is not a loss it can do anything about.
    if (lastDelivered === null) return this.deliver(batch, true);
    if (batch.sequence <= lastDelivered) {
      this.context.count('duplicates');
      return undefined;
    }
    if (batch.sequence !== lastDelivered + 1n) {
      this.markUncertain({
        expected: lastDelivered + 1n,
        received: batch.sequence,
        reason: 'replay_incomplete',
      });
    }
    return this.deliver(batch, true);
  }

  private markUncertain(uncertainty: KvEventUncertainty): void {
    this.uncertain = true;
    this.context.count('uncertainties');
    this.context.uncertain(uncertainty);
  }

  private deliver(batch: StreamBatch, replayed: boolean): Promise<void> {
    this.lastDelivered = batch.sequence;
    if (this.stopped) return Promise.resolve();
    return this.context.deliver(
      { ...this.context.identity, sequence: batch.sequence, batch: batch.decoded.batch, replayed },
      batch.decoded.unknownEventTags,
    );
  }
}
