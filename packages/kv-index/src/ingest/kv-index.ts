import {
  type BlockHasher,
  type BlockStoredEvent,
  createBlockHasher,
  type EngineHashAlgorithm,
  type KvEventBatch,
  type Logger,
  noopLogger,
  type RequestKeyAlgorithm,
} from '@llmd/core';
import type { Holder, KvIndexBackend, ScoreOptions } from '../index/kv-index-backend.js';

/** KV-cache groups llm-d indexes; sliding-window and mamba groups do not hold reusable prefixes. */
const indexedGroupKinds = new Set(['full_attention', 'mla_attention', 'sink_full_attention']);

export interface StoreOnlyTierBound {
  /** Entries of this tier expire after this long (tiers such as LMCache send no removals). */
  ttlMilliseconds?: number;
  /** At most this many blocks per endpoint in this tier; the oldest go first. */
  maxBlocks?: number;
}

export interface KvIndexOptions {
  backend: KvIndexBackend;
  /** Tokens per index block (llm-d `blockSizeTokens`); engine block sizes must be multiples of it. */
  blockSize: number;
  requestKeyAlgorithm?: RequestKeyAlgorithm;
  /** llm-d `hashSeed` for request keys (default ""). */
  hashSeed?: string;
  /**
   * The engines' `--prefix-caching-hash-algo` and `PYTHONHASHSEED`, when known: root events are
   * then re-hashed and compared, so a seed, block-size or algorithm mismatch is reported instead of
   * silently producing zero scores.
   */
  engineHashing?: { algorithm: EngineHashAlgorithm; seed: string };
  tierWeights?: Readonly<Record<string, number>>;
  storeOnlyTiers?: Readonly<Record<string, StoreOnlyTierBound>>;
  /** Events whose parent is not indexed yet wait this long for it (default 60 s), at most `maxPendingEvents`. */
  pendingParentTimeoutMilliseconds?: number;
  maxPendingEvents?: number;
  logger?: Logger;
  now?: () => number;
}

export interface KvIndexCounters {
  storedBlocks: number;
  removedBlocks: number;
  clears: number;
  /** BlockStored events that waited for their parent, then stitched. */
  stitchedEvents: number;
  /** Events dropped because their parent never arrived in time (or the pending set was full). */
  orphanedEvents: number;
  engineHashChecks: number;
  engineHashMismatches: number;
  blockSizeMismatches: number;
  skippedGroupEvents: number;
  tokenlessUnknownBlocks: number;
  expiredStoreOnlyBlocks: number;
}

export interface ScoreTokensResult {
  blockSize: number;
  totalBlocks: number;
  /** Matched (tier-weighted) leading blocks per endpoint. */
  scores: Record<string, number>;
}

interface PendingEvent {
  endpointKey: string;
  modelName: string;
  dataParallelRank: number | null;
  event: BlockStoredEvent;
  expiresAt: number;
  /** Stitched, expired or cleared: no longer counted as pending. */
  settled?: boolean;
}

interface StoreOnlyRecord {
  holder: Holder;
  tier: string;
  /** Emptied once the blocks have been removed (by TTL or capacity). */
  engineKeys: bigint[];
  /** The capacity queue counting these blocks, when the tier has a capacity. */
  capacityQueue?: StoreOnlyQueue;
}

/** Oldest first; `blocks` is the running total of the records' engine keys. */
interface StoreOnlyQueue {
  records: Array<{ record: StoreOnlyRecord; expiresAt: number }>;
  blocks: number;
}

const rootParent = -1n;

/**
 * The engine-map keys of engine blocks that span `ratio` index blocks: per engine key, `ratio − 1`
 * derived keys (a fixed odd-constant mix, collision-free in practice) then the engine key itself.
 */
function expandEngineKeys(engineKeys: ReadonlyArray<bigint>, ratio: number): ReadonlyArray<bigint> {
  if (ratio === 1) return engineKeys;
  const expanded: bigint[] = [];
  for (const engineKey of engineKeys) {
    for (let position = 1; position < ratio; position++) {
      expanded.push(BigInt.asUintN(64, engineKey ^ (0x9e3779b97f4a7c15n * BigInt(position))));
    }
    expanded.push(engineKey);
  }
  return expanded;
}

/**
 * The prefix index: ingests decoded KV-event batches into a backend and scores prompts. Request
 * keys are computed from token ids (so engine algorithm and seed churn cannot break routing);
 * engine keys are only mapped to them.
 */
export class KvIndex {
  readonly blockSize: number;
  readonly counters: KvIndexCounters = {
    storedBlocks: 0,
    removedBlocks: 0,
    clears: 0,
    stitchedEvents: 0,
    orphanedEvents: 0,
    engineHashChecks: 0,
    engineHashMismatches: 0,
    blockSizeMismatches: 0,
    skippedGroupEvents: 0,
    tokenlessUnknownBlocks: 0,
    expiredStoreOnlyBlocks: 0,
  };
  private readonly options: KvIndexOptions;
  private readonly backend: KvIndexBackend;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly requestHashers = new Map<string, BlockHasher>();
  private readonly engineHashers = new Map<string, BlockHasher>();
  /** Waiting children by `${endpoint}|${rank}`, then parent engine key (bigint keys: no string per hash). */
  private readonly pending = new Map<string, Map<bigint, PendingEvent[]>>();
  private pendingCount = 0;
  /** Parked events in parking order (one timeout, so also expiry order). */
  private readonly parkedOrder: Array<{ streamKey: string; parent: bigint; entry: PendingEvent }> = [];
  /** Per engine stream: index blocks per engine block, learned from its BlockStored events. */
  private readonly engineBlockRatios = new Map<string, number>();
  /** Per tier with a TTL: records in store order (one TTL per tier, so also in expiry order). */
  private readonly storeOnlyExpiry = new Map<string, StoreOnlyQueue>();
  /** Per endpoint and tier with a capacity: records in store order. */
  private readonly storeOnlyCapacity = new Map<string, StoreOnlyQueue>();
  private readonly lastWarning = new Map<string, number>();

  constructor(options: KvIndexOptions) {
    this.options = options;
    this.backend = options.backend;
    this.blockSize = options.blockSize;
    this.logger = options.logger ?? noopLogger;
    this.now = options.now ?? Date.now;
  }

  /** Request-key hasher for a model name (or LoRA adapter name): the chain root depends on it. */
  requestHasher(modelName: string): BlockHasher {
    let hasher = this.requestHashers.get(modelName);
    if (!hasher) {
      hasher = createBlockHasher({
        algorithm: this.options.requestKeyAlgorithm ?? 'cbor-fnv',
        blockSize: this.blockSize,
        seed: this.options.hashSeed ?? '',
        modelName,
      });
      if (this.requestHashers.size >= 256)
        this.requestHashers.delete(this.requestHashers.keys().next().value as string);
      this.requestHashers.set(modelName, hasher);
    }
    return hasher;
  }

  /** Apply one batch from an engine, in order. */
  async ingest(input: { endpointKey: string; modelName: string; batch: KvEventBatch }): Promise<void> {
    await this.expireStoreOnly();
    this.expirePending();
    const rank = input.batch.dataParallelRank;
    for (const event of input.batch.events) {
      if (event.type === 'BlockStored') {
        await this.ingestStored({
          endpointKey: input.endpointKey,
          modelName: input.modelName,
          dataParallelRank: rank,
          event,
          expiresAt: 0,
        });
      } else if (event.type === 'BlockRemoved') {
        if (!this.isIndexedGroup(event.groupIdx ?? null, null)) continue;
        const holder = this.holderOf(input.endpointKey, rank, event.groupIdx ?? null);
        const ratio = this.engineBlockRatios.get(this.streamKey(input.endpointKey, rank)) ?? 1;
        await this.backend.removeBlocks(
          holder,
          this.tierOf(event.medium),
          expandEngineKeys(event.blockHashes, ratio),
        );
        this.counters.removedBlocks += event.blockHashes.length;
      } else {
        await this.clearEndpoint(input.endpointKey, rank);
      }
    }
  }

  /** `AllBlocksCleared`, engine restart or endpoint removal. */
  async clearEndpoint(endpointKey: string, dataParallelRank?: number | null): Promise<void> {
    this.counters.clears++;
    await this.backend.clearEndpoint(endpointKey, dataParallelRank);
    for (const [streamKey, byParent] of this.pending) {
      const [streamEndpoint, rank] = streamKey.split('|') as [string, string];
      if (streamEndpoint !== endpointKey) continue;
      if (dataParallelRank !== undefined && rank !== String(dataParallelRank ?? '')) continue;
      for (const waiting of byParent.values()) {
        for (const entry of waiting) entry.settled = true;
        this.pendingCount -= waiting.length;
      }
      this.pending.delete(streamKey);
    }
  }

  /**
   * Seed entries for the endpoint a request was just routed to, before its engine reports them;
   * they count like GPU blocks until `ttlMilliseconds` passes, unless real events confirm them.
   */
  async speculate(
    endpointKey: string,
    modelName: string,
    tokens: ArrayLike<number>,
    ttlMilliseconds = 2000,
  ): Promise<void> {
    const requestKeys = this.requestHasher(modelName).hash(tokens);
    if (requestKeys.length === 0) return;
    await this.backend.storeBlocks({
      holder: { endpointKey, dataParallelRank: null, groupIdx: 0 },
      tier: 'gpu',
      requestKeys,
      engineKeys: null,
      expiresAt: this.now() + ttlMilliseconds,
    });
  }

  async scoreTokens(
    tokens: ArrayLike<number>,
    modelName: string,
    options: Pick<ScoreOptions, 'candidates'> = {},
  ): Promise<ScoreTokensResult> {
    await this.expireStoreOnly();
    const requestKeys = this.requestHasher(modelName).hashPacked(tokens);
    const result = await this.backend.score(requestKeys, {
      ...options,
      tierWeights: this.options.tierWeights,
    });
    return {
      blockSize: this.blockSize,
      totalBlocks: result.totalBlocks,
      scores: Object.fromEntries(result.scores),
    };
  }

  private tierOf(medium: string | null): string {
    return medium ? medium.toLowerCase() : 'gpu';
  }

  /** vLLM sends `group_idx` null for single-group models; treat it as group 0 so tiers line up. */
  private holderOf(endpointKey: string, dataParallelRank: number | null, groupIdx: number | null): Holder {
    return { endpointKey, dataParallelRank, groupIdx: groupIdx ?? 0 };
  }

  private isIndexedGroup(_groupIdx: number | null, kind: string | null | undefined): boolean {
    return kind === null || kind === undefined || indexedGroupKinds.has(kind);
  }

  private warn(endpointKey: string, kind: string, fields: Record<string, unknown>, message: string): void {
    // At most one warning per endpoint and kind per minute: a misconfigured engine sends thousands.
    const key = `${endpointKey}|${kind}`;
    const now = this.now();
    if (now - (this.lastWarning.get(key) ?? Number.NEGATIVE_INFINITY) < 60_000) return;
    this.lastWarning.set(key, now);
    this.logger.warn({ endpoint: endpointKey, ...fields }, message);
  }

  private async ingestStored(entry: PendingEvent): Promise<void> {
    const { event, endpointKey } = entry;
    if (!this.isIndexedGroup(event.groupIdx ?? null, event.kvCacheSpecKind)) {
      this.counters.skippedGroupEvents++;
      return;
    }
    const holder = this.holderOf(endpointKey, entry.dataParallelRank, event.groupIdx ?? null);
    const tier = this.tierOf(event.medium);
    const engineKeys = event.blockHashes;
    if (engineKeys.length === 0) return;

    if (event.tokenIds.length === 0) {
      // Token-less (offload) events: the blocks must already be known from GPU events.
      const ratio = this.engineBlockRatios.get(this.streamKey(endpointKey, entry.dataParallelRank)) ?? 1;
      const expanded = expandEngineKeys(engineKeys, ratio);
      const requestKeys = await this.backend.lookupRequestKeys(holder, expanded);
      const known = requestKeys.flatMap((key, index) =>
        key === undefined ? [] : [{ key, engine: expanded[index] as bigint }],
      );
      this.counters.tokenlessUnknownBlocks += expanded.length - known.length;
      if (known.length > 0) {
        await this.store(
          holder,
          tier,
          known.map((item) => item.key),
          known.map((item) => item.engine),
        );
      }
      return;
    }

    const engineBlockSize = event.blockSize;
    if (
      engineBlockSize % this.blockSize !== 0 ||
      event.tokenIds.length !== engineKeys.length * engineBlockSize
    ) {
      this.counters.blockSizeMismatches++;
      this.warn(
        endpointKey,
        'block-size',
        {
          engineBlockSize,
          indexBlockSize: this.blockSize,
          tokens: event.tokenIds.length,
          blocks: engineKeys.length,
        },
        'KV event block size is not a multiple of the index block size (or tokens do not fill the blocks): events from this engine cannot be indexed',
      );
      return;
    }

    const modelName = event.loraName ?? entry.modelName;
    let parentRequestKey: bigint = rootParent;
    if (event.parentBlockHash !== null) {
      const [found] = await this.backend.lookupRequestKeys(holder, [event.parentBlockHash]);
      if (found === undefined) {
        this.park(entry);
        return;
      }
      parentRequestKey = found;
    } else {
      this.verifyEngineHashes(endpointKey, event);
    }

    const hasher = this.requestHasher(modelName);
    const requestKeys =
      parentRequestKey === rootParent
        ? hasher.hashPacked(event.tokenIds)
        : hasher.hashPacked(event.tokenIds, { parent: parentRequestKey });
    // Align engine keys with request keys. An engine block covering `ratio` index blocks maps to the
    // last of them (written last): the right parent for continuations. Its removal then drops only
    // that index block, which ends every prefix walk there (an overestimate of at most ratio − 1).
    const ratio = engineBlockSize / this.blockSize;
    this.engineBlockRatios.set(this.streamKey(endpointKey, entry.dataParallelRank), ratio);
    // Each index block gets its own key in the engine map (derived from the engine key; the last one
    // is the engine key itself, the parent of continuations), so a removal drops all of them.
    const alignedEngineKeys = ratio === 1 ? engineKeys : expandEngineKeys(engineKeys, ratio);
    await this.store(holder, tier, requestKeys, alignedEngineKeys);

    // Children that arrived before this event can now be chained (nothing to look up when none wait).
    if (this.pendingCount === 0) return;
    const byParent = this.pending.get(this.streamKey(endpointKey, entry.dataParallelRank));
    if (!byParent) return;
    for (const engineKey of engineKeys) {
      const waiting = byParent.get(engineKey);
      if (!waiting) continue;
      byParent.delete(engineKey);
      this.pendingCount -= waiting.length;
      for (const child of waiting) {
        child.settled = true;
        if (child.expiresAt < this.now()) {
          this.counters.orphanedEvents++;
          continue;
        }
        this.counters.stitchedEvents++;
        await this.ingestStored(child);
      }
    }
  }

  private async store(
    holder: Holder,
    tier: string,
    requestKeys: ReadonlyArray<bigint> | BigUint64Array,
    engineKeys: ReadonlyArray<bigint>,
  ): Promise<void> {
    await this.backend.storeBlocks({ holder, tier, requestKeys, engineKeys });
    this.counters.storedBlocks += requestKeys.length;
    const bound = this.options.storeOnlyTiers?.[tier];
    if (!bound) return;
    const record: StoreOnlyRecord = { holder, tier, engineKeys: [...engineKeys] };
    if (bound.ttlMilliseconds !== undefined) {
      const queue = this.storeOnlyExpiry.get(tier) ?? { records: [], blocks: 0 };
      queue.records.push({ record, expiresAt: this.now() + bound.ttlMilliseconds });
      this.storeOnlyExpiry.set(tier, queue);
    }
    if (bound.maxBlocks !== undefined) {
      const key = `${holder.endpointKey}|${tier}`;
      const queue = this.storeOnlyCapacity.get(key) ?? { records: [], blocks: 0 };
      queue.records.push({ record, expiresAt: Number.POSITIVE_INFINITY });
      queue.blocks += record.engineKeys.length;
      record.capacityQueue = queue;
      this.storeOnlyCapacity.set(key, queue);
      while (queue.blocks > bound.maxBlocks && queue.records.length > 0) {
        await this.removeStoreOnly((queue.records.shift() as { record: StoreOnlyRecord }).record);
      }
    }
  }

  private async removeStoreOnly(record: StoreOnlyRecord): Promise<void> {
    if (record.engineKeys.length === 0) return;
    const count = record.engineKeys.length;
    const keys = record.engineKeys;
    record.engineKeys = [];
    const queue = record.capacityQueue;
    if (queue) {
      queue.blocks -= count;
      // Shed records emptied by their TTL from the head, so capacity queues stay bounded.
      while (
        queue.records.length > 0 &&
        (queue.records[0] as { record: StoreOnlyRecord }).record.engineKeys.length === 0
      ) {
        queue.records.shift();
      }
    }
    await this.backend.removeBlocks(record.holder, record.tier, keys);
    this.counters.expiredStoreOnlyBlocks += count;
  }

  private async expireStoreOnly(): Promise<void> {
    if (this.storeOnlyExpiry.size === 0) return;
    const now = this.now();
    for (const queue of this.storeOnlyExpiry.values()) {
      while (queue.records.length > 0 && (queue.records[0] as { expiresAt: number }).expiresAt <= now) {
        await this.removeStoreOnly((queue.records.shift() as { record: StoreOnlyRecord }).record);
      }
    }
  }

  /** Identifies one engine's event stream (an endpoint's DP rank). Endpoint keys contain no `|`. */
  private streamKey(endpointKey: string, dataParallelRank: number | null): string {
    return `${endpointKey}|${dataParallelRank ?? ''}`;
  }

  private park(entry: PendingEvent): void {
    const parent = entry.event.parentBlockHash as bigint;
    const streamKey = this.streamKey(entry.endpointKey, entry.dataParallelRank);
    if (this.pendingCount >= (this.options.maxPendingEvents ?? 10_000)) {
      this.counters.orphanedEvents++;
      this.warn(
        entry.endpointKey,
        'pending-full',
        { parent: parent.toString() },
        'too many KV events wait for unknown parents; dropping',
      );
      return;
    }
    let byParent = this.pending.get(streamKey);
    if (!byParent) {
      byParent = new Map();
      this.pending.set(streamKey, byParent);
    }
    const waiting = byParent.get(parent) ?? [];
    const parked: PendingEvent = {
      ...entry,
      expiresAt: this.now() + (this.options.pendingParentTimeoutMilliseconds ?? 60_000),
    };
    waiting.push(parked);
    byParent.set(parent, waiting);
    this.parkedOrder.push({ streamKey, parent, entry: parked });
    this.pendingCount++;
  }

  /** Drop parked events whose parent did not arrive in time (they would otherwise fill the pending set). */
  private expirePending(): void {
    const now = this.now();
    while (
      this.parkedOrder.length > 0 &&
      (this.parkedOrder[0] as { entry: PendingEvent }).entry.expiresAt <= now
    ) {
      const { streamKey, parent, entry } = this.parkedOrder.shift() as {
        streamKey: string;
        parent: bigint;
        entry: PendingEvent;
      };
      if (entry.settled) continue;
      entry.settled = true;
      this.pendingCount--;
      this.counters.orphanedEvents++;
      const byParent = this.pending.get(streamKey);
      const waiting = byParent?.get(parent);
      if (!byParent || !waiting) continue;
      const kept = waiting.filter((candidate) => candidate !== entry);
      if (kept.length > 0) byParent.set(parent, kept);
      else byParent.delete(parent);
      if (byParent.size === 0) this.pending.delete(streamKey);
    }
  }

  /** Number of events waiting for a parent. */
  get pendingEvents(): number {
    return this.pendingCount;
  }

  private verifyEngineHashes(endpointKey: string, event: BlockStoredEvent): void {
    const engine = this.options.engineHashing;
    if (!engine) return;
    // Only extras we can reproduce: the LoRA name. A cache_salt or multimodal key makes the check moot.
    if (event.extraKeys?.some((keys) => keys?.some((key) => key !== event.loraName))) return;
    const hasherKey = `${event.blockSize}|${event.loraName ?? ''}`;
    let hasher = this.engineHashers.get(hasherKey);
    if (!hasher) {
      hasher = createBlockHasher({
        algorithm: engine.algorithm,
        blockSize: event.blockSize,
        seed: engine.seed,
        loraName: event.loraName ?? undefined,
      });
      if (this.engineHashers.size >= 64) this.engineHashers.clear();
      this.engineHashers.set(hasherKey, hasher);
    }
    this.counters.engineHashChecks++;
    const computed = hasher.hash(event.tokenIds);
    const matches =
      computed.length === event.blockHashes.length &&
      computed.every((value, index) => value === event.blockHashes[index]);
    if (!matches) {
      this.counters.engineHashMismatches++;
      this.warn(
        endpointKey,
        'engine-hash',
        {
          expected: computed[0]?.toString(),
          received: event.blockHashes[0]?.toString(),
          algorithm: engine.algorithm,
        },
        'engine block hashes do not match the configured algorithm, seed and block size: check PYTHONHASHSEED, --prefix-caching-hash-algo and --block-size on this engine',
      );
    }
  }
}
