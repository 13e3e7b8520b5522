/**
 * The storage contract of the prefix index. Keys are llm-d *request keys* (computed by us from
 * token ids, so routing does not depend on the engine's hash algorithm or seed) and *engine keys*
 * (the 64-bit hashes vLLM publishes), both unsigned 64-bit values as `bigint`.
 *
 * A block is held by a *holder*: one engine, identified by its endpoint (`ip:port`), its
 * data-parallel rank and its KV-cache group, in one tier (`gpu`, `cpu`, …). Scores are reported per
 * endpoint: the best of that endpoint's holders.
 */
export interface Holder {
  readonly endpointKey: string;
  readonly dataParallelRank: number | null;
  readonly groupIdx: number | null;
}

export interface StoreBlocksInput {
  readonly holder: Holder;
  /** Lower-case tier name (`gpu`, `cpu`, `disk`, …). */
  readonly tier: string;
  /** A `BigUint64Array` (from `BlockHasher.hashPacked`) avoids a bigint per block. */
  readonly requestKeys: ReadonlyArray<bigint> | BigUint64Array;
  /**
   * The engine keys of the same blocks, aligned with `requestKeys` (same length), so removals and
   * token-less events can be mapped back; null for speculative entries.
   */
  readonly engineKeys: ReadonlyArray<bigint> | null;
  /**
   * Speculative entries (seeded for the endpoint a request was just routed to) expire at this
   * time, in ms since the epoch, unless a real store of the same block confirms them first.
   */
  readonly expiresAt?: number;
}

export interface ScoreOptions {
  /** Only these endpoints are scored (all endpoints when absent). */
  readonly candidates?: ReadonlyArray<string>;
  /** Weight per tier (defaults: gpu 1.0, cpu 0.8; unknown tiers 1.0). */
  readonly tierWeights?: Readonly<Record<string, number>>;
}

export interface PrefixScores {
  /** Number of request keys scored (full blocks of the prompt). */
  readonly totalBlocks: number;
  /**
   * Per endpoint, the tier-weighted count of consecutive leading blocks it holds (endpoints holding
   * no leading block are absent).
   */
  readonly scores: ReadonlyMap<string, number>;
}

export interface EndpointIndexStats {
  readonly endpointKey: string;
  /** Blocks held, per tier. */
  readonly blocksByTier: Readonly<Record<string, number>>;
}

/** Implemented in memory (the default) and on Redis/Valkey (shared by several replicas). */
export interface KvIndexBackend {
  storeBlocks(input: StoreBlocksInput): Promise<void>;
  /** `BlockRemoved`: drop the holder's entries in `tier` for these engine keys (unknown keys are ignored). */
  removeBlocks(holder: Holder, tier: string, engineKeys: ReadonlyArray<bigint>): Promise<void>;
  /** Engine key → request key as stored by `holder` (parents of continuations, token-less offload events). */
  lookupRequestKeys(holder: Holder, engineKeys: ReadonlyArray<bigint>): Promise<Array<bigint | undefined>>;
  /**
   * Forget everything an endpoint holds (`AllBlocksCleared`, engine restart, endpoint removal);
   * with a rank, only that rank. Must not be proportional to the index size.
   */
  clearEndpoint(endpointKey: string, dataParallelRank?: number | null): Promise<void>;
  /**
   * Longest consecutive prefix of `requestKeys` per endpoint, tier-weighted (see {@link PrefixScores}).
   * A `BigUint64Array` (what `BlockHasher.hashPacked` returns) avoids a bigint per block.
   */
  score(requestKeys: ReadonlyArray<bigint> | BigUint64Array, options?: ScoreOptions): Promise<PrefixScores>;
  endpointStats(): Promise<EndpointIndexStats[]>;
  close(): Promise<void>;
}

export const defaultTierWeights: Readonly<Record<string, number>> = { gpu: 1, cpu: 0.8 };
