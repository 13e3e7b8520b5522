import type { BlockStoredEvent, Logger } from '@llmd/core';
import { noopLogger } from '@llmd/core';
import { createKvEventSubscriber, type KvEventDelivery } from '@llmd/kv-index';
import type { DoctorKvEventTarget } from './doctor-options.js';
import { probeTcpEndpoint } from './probe-tcp.js';

/** Distinct topics, block sizes and sample events kept per engine: enough to diagnose, bounded. */
const maximumDistinctValues = 16;
const maximumRootSamples = 8;

/** What the doctor saw on one engine's KV-event socket while it listened. */
export interface KvEventObservation {
  readonly target: DoctorKvEventTarget;
  /** Why the events socket could not be reached; undefined when it accepted a connection. */
  readonly unreachable: string | undefined;
  /** Why the replay socket could not be reached, when one was given. */
  readonly replayUnreachable: string | undefined;
  readonly batches: number;
  readonly events: number;
  readonly storedEvents: number;
  /** Messages that were not a readable KV-event batch. */
  readonly malformed: number;
  /** Topic frame → batches received under it. */
  readonly topics: ReadonlyMap<string, number>;
  /** `block_size` of BlockStored events carrying tokens → how many. */
  readonly blockSizes: ReadonlyMap<number, number>;
  /** Dense events whose token count is not blocks × block_size. */
  readonly irregularEvents: number;
  /**
   * BlockStored events at the start of a sequence (no parent), with tokens and only extras that can
   * be reproduced (a LoRA name): their hashes can be recomputed from the tokens alone.
   */
  readonly rootSamples: ReadonlyArray<BlockStoredEvent>;
}

export interface KvEventCollection {
  /** Stop listening and return one observation per target, in the order given. */
  stop(): Promise<KvEventObservation[]>;
}

interface MutableObservation {
  unreachable: string | undefined;
  replayUnreachable: string | undefined;
  batches: number;
  events: number;
  storedEvents: number;
  topics: Map<string, number>;
  blockSizes: Map<number, number>;
  irregularEvents: number;
  rootSamples: BlockStoredEvent[];
}

function countBounded<Key>(map: Map<Key, number>, key: Key): void {
  const count = map.get(key);
  if (count !== undefined) map.set(key, count + 1);
  else if (map.size < maximumDistinctValues) map.set(key, 1);
}

/** The groups llm-d indexes; sliding-window and mamba groups carry other token spans (kv-events.md §3). */
const fullAttentionKinds: ReadonlySet<string> = new Set([
  'full_attention',
  'mla_attention',
  'sink_full_attention',
]);

function isFullAttention(event: BlockStoredEvent): boolean {
  const kind = event.kvCacheSpecKind ?? null;
  return kind === null || fullAttentionKinds.has(kind);
}

function isReproducibleRoot(event: BlockStoredEvent): boolean {
  if (event.parentBlockHash !== null || event.tokenIds.length === 0 || !isFullAttention(event)) return false;
  // A cache salt or multimodal identifiers cannot be recovered from the event: skip those events.
  return !(event.extraKeys ?? []).some(
    (keys) => keys !== null && !(keys.length === 1 && keys[0] === event.loraName),
  );
}

function record(observation: MutableObservation, delivery: KvEventDelivery): void {
  observation.batches += 1;
  countBounded(observation.topics, delivery.topic);
  for (const event of delivery.batch.events) {
    observation.events += 1;
    if (event.type !== 'BlockStored') continue;
    observation.storedEvents += 1;
    if (event.tokenIds.length === 0) continue;
    countBounded(observation.blockSizes, event.blockSize);
    if (isFullAttention(event) && event.tokenIds.length !== event.blockHashes.length * event.blockSize) {
      observation.irregularEvents += 1;
    }
    if (observation.rootSamples.length < maximumRootSamples && isReproducibleRoot(event)) {
      observation.rootSamples.push(event);
    }
  }
}

/**
 * Dial every engine's KV-event socket (and its replay socket, which also yields what was published
 * before the doctor connected) and record what arrives until `stop`. The topic filter is empty, so
 * that batches under a topic the index would drop are seen and can be reported.
 */
export async function startKvEventCollection(
  targets: ReadonlyArray<DoctorKvEventTarget>,
  options: { timeoutMilliseconds: number; logger?: Logger },
): Promise<KvEventCollection> {
  const observations = new Map<string, MutableObservation>();
  await Promise.all(
    targets.map(async (target) => {
      const [unreachable, replayUnreachable] = await Promise.all([
        probeTcpEndpoint(target.eventsEndpoint, options.timeoutMilliseconds),
        target.replayEndpoint === undefined
          ? undefined
          : probeTcpEndpoint(target.replayEndpoint, options.timeoutMilliseconds),
      ]);
      observations.set(target.endpointKey, {
        unreachable,
        replayUnreachable,
        batches: 0,
        events: 0,
        storedEvents: 0,
        topics: new Map(),
        blockSizes: new Map(),
        irregularEvents: 0,
        rootSamples: [],
      });
    }),
  );
  const subscriber = await createKvEventSubscriber({
    mode: 'per-pod',
    topicFilter: '',
    replayTimeoutMilliseconds: options.timeoutMilliseconds,
    // Only what the doctor keeps matters; a burst beyond this is dropped rather than buffered.
    maxQueuedBatchesPerPublisher: 1_000,
    logger: options.logger ?? noopLogger,
    onBatch: (delivery) => {
      const observation = observations.get(delivery.endpointKey);
      if (observation) record(observation, delivery);
    },
  });
  for (const target of targets) {
    const observation = observations.get(target.endpointKey) as MutableObservation;
    if (observation.unreachable !== undefined) continue;
    subscriber.addEndpoint({
      endpointKey: target.endpointKey,
      eventsEndpoint: target.eventsEndpoint,
      ...(target.replayEndpoint !== undefined && observation.replayUnreachable === undefined
        ? { replayEndpoint: target.replayEndpoint }
        : {}),
    });
  }
  return {
    stop: async () => {
      // A replay still running (a slow engine, a busy machine) would cut off what it brings: let
      // it finish, within one timeout, so the result does not depend on how fast the replay was.
      const deadline = performance.now() + options.timeoutMilliseconds;
      const settled = () =>
        subscriber
          .stats()
          .endpoints.every(
            (endpoint) =>
              endpoint.state !== 'replaying' &&
              endpoint.publishers.every((publisher) => publisher.queuedBatches === 0),
          );
      while (!settled() && performance.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      const stats = new Map(subscriber.stats().endpoints.map((endpoint) => [endpoint.endpointKey, endpoint]));
      await subscriber.close();
      return targets.map((target) => {
        const observation = observations.get(target.endpointKey) as MutableObservation;
        return { target, ...observation, malformed: stats.get(target.endpointKey)?.malformed ?? 0 };
      });
    },
  };
}
