/**
 * - `synced`: every batch since the first (or since the last restart) was delivered;
 * - `replaying`: a replay is filling a gap (or, per-pod, catching up after connecting); live batches
 *   wait meanwhile;
 * - `uncertain`: some batches were lost for good; stays so until the engine restarts.
 */
export type KvEventStreamState = 'synced' | 'replaying' | 'uncertain';

export interface KvEventCounters {
  /** Batches handed to `onBatch`. */
  readonly batches: number;
  /** Known events in those batches. */
  readonly events: number;
  /** Events skipped because their type is unknown. */
  readonly unknownEventTags: number;
  /** Sequence gaps seen (each one either replayed or reported as uncertain). */
  readonly gaps: number;
  /** Replay requests started (including the one after connecting or subscribing). */
  readonly replays: number;
  readonly replayFailures: number;
  /** Calls to `onUncertain`. */
  readonly uncertainties: number;
  /** Engine restarts detected from a sequence reset. */
  readonly restarts: number;
  /** Batches dropped as already delivered (a replay overtook the live stream). */
  readonly duplicates: number;
  /** Messages or replay replies that could not be parsed or decoded. */
  readonly malformed: number;
  /** Live batches dropped because a publisher's queue was full (later filled by replay if possible). */
  readonly droppedBatches: number;
  /** `onBatch` calls that threw or rejected. */
  readonly handlerErrors: number;
}

export type KvEventCounterName = keyof KvEventCounters;

export interface KvEventPublisherStreamStats {
  readonly topic: string;
  readonly modelName: string;
  readonly dataParallelRank: number | null;
  readonly state: KvEventStreamState;
  /** Last sequence delivered; null before the first (and right after a restart). */
  readonly lastSequence: bigint | null;
  /** Live batches waiting (behind a replay or a slow `onBatch`). */
  readonly queuedBatches: number;
}

export interface KvEventEndpointStats extends KvEventCounters {
  readonly endpointKey: string;
  /** The worst state of the endpoint's publishers: replaying, then uncertain, then synced. */
  readonly state: KvEventStreamState;
  /** Last sequence delivered by the endpoint's most recently active publisher. */
  readonly lastSequence: bigint | null;
  /** Clock time (ms) of the last delivered batch; null if none yet. Idle engines send nothing. */
  readonly lastEventTime: number | null;
  readonly publishers: ReadonlyArray<KvEventPublisherStreamStats>;
}

export interface KvEventSubscriberTotals extends KvEventCounters {
  /** Messages read from the SUB socket(s). */
  readonly messages: number;
  /** Malformed messages that could not be attributed to an endpoint (also counted in `malformed`). */
  readonly unattributedMalformed: number;
  /** Live batches refused because `maxPublishers` was reached. */
  readonly rejectedPublishers: number;
}

export interface KvEventSubscriberStats {
  /** One entry per endpoint, sorted by endpoint key. */
  readonly endpoints: ReadonlyArray<KvEventEndpointStats>;
  readonly totals: KvEventSubscriberTotals;
}

export type MutableCounters = { -readonly [Name in KvEventCounterName]: number };

export function zeroCounters(): MutableCounters {
  return {
    batches: 0,
    events: 0,
    unknownEventTags: 0,
    gaps: 0,
    replays: 0,
    replayFailures: 0,
    uncertainties: 0,
    restarts: 0,
    duplicates: 0,
    malformed: 0,
    droppedBatches: 0,
    handlerErrors: 0,
  };
}
