import type { KvEventBatch } from '@llmd/core';

/**
 * One publisher: an engine process (one data-parallel rank) publishing under one topic. Sequence
 * numbers are per publisher, so all ordering, gap and restart logic is too.
 */
export interface KvEventPublisherIdentity {
  /** `ip:port` of the model-server endpoint, as the index keys it. */
  readonly endpointKey: string;
  /** From the topic; empty when a per-pod publisher sends no parseable topic. */
  readonly modelName: string;
  readonly topic: string;
  /** The batches' `data_parallel_rank`: ranks share a topic but number their batches separately. */
  readonly dataParallelRank: number | null;
}

/** A decoded batch handed to `onBatch`, in publisher order. */
export interface KvEventDelivery extends KvEventPublisherIdentity {
  readonly sequence: bigint;
  readonly batch: KvEventBatch;
  /** True when the batch came from a replay request rather than the live stream. */
  readonly replayed: boolean;
}

/**
 * Why the index may be missing events for a publisher:
 * - `no_replay_endpoint`: a sequence gap, and no replay socket is known;
 * - `replay_failed`: the replay request timed out or failed;
 * - `replay_incomplete`: the replay answered but no longer had the missing batches (or had them
 *   only in undecodable form).
 */
export type KvEventUncertaintyReason = 'no_replay_endpoint' | 'replay_failed' | 'replay_incomplete';

export interface KvEventUncertainty {
  /** First sequence number that could not be delivered. */
  readonly expected: bigint;
  /** The sequence number delivered instead. */
  readonly received: bigint;
  readonly reason: KvEventUncertaintyReason;
}
