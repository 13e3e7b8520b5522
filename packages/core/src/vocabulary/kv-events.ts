/**
 * vLLM KV-cache events as llmd handles them in memory (wire encodings live with the publisher and
 * the subscriber). Hashes are 64-bit patterns as `bigint`: vLLM publishes the last 8 bytes of the
 * block digest, big-endian.
 */
export interface BlockStoredEvent {
  readonly type: 'BlockStored';
  readonly blockHashes: ReadonlyArray<bigint>;
  /** Hash of the block before the first one; null at the start of a sequence. */
  readonly parentBlockHash: bigint | null;
  /** Tokens of exactly these blocks (empty for token-less offload events). */
  readonly tokenIds: ReadonlyArray<number>;
  readonly blockSize: number;
  /** Deprecated upstream: the adapter's integer id. */
  readonly loraId: number | null;
  /** `GPU`, `CPU`, … (null from old engines means GPU). */
  readonly medium: string | null;
  /** The adapter name: the value that enters the block hashes. */
  readonly loraName: string | null;
  /** Per block, exactly what was hashed besides the tokens (null when nothing). */
  readonly extraKeys?: ReadonlyArray<ReadonlyArray<unknown> | null> | null;
  readonly groupIdx?: number | null;
  readonly kvCacheSpecKind?: string | null;
  readonly kvCacheSpecSlidingWindow?: number | null;
}

export interface BlockRemovedEvent {
  readonly type: 'BlockRemoved';
  readonly blockHashes: ReadonlyArray<bigint>;
  readonly medium: string | null;
  readonly groupIdx?: number | null;
}

export interface AllBlocksClearedEvent {
  readonly type: 'AllBlocksCleared';
}

export type KvEvent = BlockStoredEvent | BlockRemovedEvent | AllBlocksClearedEvent;

/** One published message: the events of one scheduler step. */
export interface KvEventBatch {
  /** Seconds since the epoch (vLLM's `time.time()`). */
  readonly timestamp: number;
  readonly events: ReadonlyArray<KvEvent>;
  readonly dataParallelRank: number | null;
}

/** llm-d's topic convention: `kv@<ip>:<port>@<model>`. */
export function formatKvEventTopic(endpointKey: string, modelName: string): string {
  return `kv@${endpointKey}@${modelName}`;
}
