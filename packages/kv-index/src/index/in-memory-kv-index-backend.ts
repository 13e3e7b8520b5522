import { type HolderRecord, HolderRegistry } from './holder-registry.js';
import {
  defaultTierWeights,
  type EndpointIndexStats,
  type Holder,
  type KvIndexBackend,
  type PrefixScores,
  type ScoreOptions,
  type StoreBlocksInput,
} from './kv-index-backend.js';
import { Uint64HashTable } from './uint64-hash-table.js';

/**
 * Entry code = holderId × 16 + tier mask. Bits: 0 gpu, 1 cpu, 2 the first other tier seen (disk,
 * storage, …), 3 speculative (scored like gpu until it expires).
 */
const tierBitCount = 4;
const speculativeBit = 8;
const holderIdLimit = 2 ** 27;

/** Within one operation: old entry reference → the reference it became (same change, same result). */
type EntryMemo = Map<number, { newReference: number; oldMask: number; newMask: number }>;

interface SpeculativeBatch {
  /** The record itself, not its id: ids are reused after a clear and a sweep. */
  record: HolderRecord;
  keys: Uint32Array;
  expiresAt: number;
}

export interface InMemoryKvIndexBackendOptions {
  /** Clock in ms since the epoch (speculative expiry). */
  now?: () => number;
  /** Initial table capacity in blocks (tables grow as needed). */
  initialCapacity?: number;
  /** Table slots the lazy sweep examines per operation after a clear (default 512). */
  sweepBudget?: number;
}

/** Little-endian 32-bit halves of each key, without allocating a bigint per read. */
function toUint32Pairs(keys: ReadonlyArray<bigint> | BigUint64Array): Uint32Array {
  const packed =
    keys instanceof BigUint64Array ? keys : BigUint64Array.from(keys, (key) => BigInt.asUintN(64, key));
  return new Uint32Array(packed.buffer, packed.byteOffset, packed.length * 2);
}

function fromUint32Pair(high: number, low: number): bigint {
  return (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
}

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  // toUint32Pairs reads the low half first; every platform Node supports for us is little-endian.
  throw new Error('@llmd/kv-index needs a little-endian platform');
}

/**
 * The default index backend: two flat typed-array hash tables (request key → holders, and
 * (holder, engine key) → request key) with interned holder ids. No per-key objects or nested
 * caches; an endpoint clear retires its holder ids in O(1) and a sweeper removes their entries
 * lazily, a few hundred slots per operation.
 */
export class InMemoryKvIndexBackend implements KvIndexBackend {
  private readonly requests: Uint64HashTable;
  /** Columns: request key high, request key low, holderId × 16 + tier mask. */
  private readonly engines: Uint64HashTable;
  private readonly holders = new HolderRegistry(tierBitCount);
  /**
   * Multi-holder entry lists; a request slot's value −(index + 1) points here. Lists are immutable
   * and shared by every slot with the same holders and tiers (a store or removal that applies one
   * change to a run of blocks reuses one result), counted in `listShares`. Equal references on
   * consecutive blocks let the walk skip them.
   */
  private readonly lists: Array<number[] | undefined> = [];
  private readonly listShares: number[] = [];
  private readonly freeListIndexes: number[] = [];
  private readonly tierNames: string[] = ['gpu', 'cpu'];
  private readonly speculative: SpeculativeBatch[] = [];
  private readonly now: () => number;
  private readonly sweepBudget: number;
  private sweepCursor = 0;
  private sweepCapacity = -1;
  private sweepingIds: Set<number> | null = null;

  constructor(options: InMemoryKvIndexBackendOptions = {}) {
    this.now = options.now ?? Date.now;
    this.sweepBudget = options.sweepBudget ?? 512;
    this.requests = new Uint64HashTable(1, options.initialCapacity ?? 4096);
    this.engines = new Uint64HashTable(3, options.initialCapacity ?? 4096);
    // Deletions shift entries back; one moving from the unswept part to the swept part of a table
    // would escape the sweep, so the cursor rewinds to it.
    this.requests.onMove = (from, to) => this.rewindSweep(0, from, to);
    this.engines.onMove = (from, to) => this.rewindSweep(this.requests.slotCount, from, to);
  }

  /** Distinct request keys indexed. */
  get blockCount(): number {
    return this.requests.size;
  }

  /** Multi-holder entry lists alive (shared lists count once); for diagnostics and leak tests. */
  get entryListCount(): number {
    return this.lists.length - this.freeListIndexes.length;
  }

  /** Bytes held by the index structures (tables and multi-holder lists). */
  get byteSize(): number {
    let listBytes = 0;
    for (const list of this.lists) if (list) listBytes += 16 + list.length * 8;
    return this.requests.byteSize + this.engines.byteSize + listBytes;
  }

  private tierBit(tier: string): number {
    let index = this.tierNames.indexOf(tier);
    if (index < 0) {
      if (this.tierNames.length < 3) {
        this.tierNames.push(tier);
        index = 2;
      } else {
        index = 2; // a fourth real tier shares the "other" bit with the third
      }
    }
    return 1 << index;
  }

  async storeBlocks(input: StoreBlocksInput): Promise<void> {
    this.storeBlocksNow(input);
  }

  /** Synchronous store (the ingestion hot path uses it directly). */
  storeBlocksNow(input: StoreBlocksInput): void {
    this.maintain();
    const record = this.holders.findOrCreate(input.holder);
    if (record.id >= holderIdLimit) throw new Error('too many holders');
    const bit = input.expiresAt !== undefined ? speculativeBit : this.tierBit(input.tier);
    const requestKeys = toUint32Pairs(input.requestKeys);
    const engineKeys = input.engineKeys ? this.scratchPairs(input.engineKeys) : null;
    const blockCount = input.requestKeys.length;
    const memo: EntryMemo = new Map();
    for (let index = 0; index < blockCount; index++) {
      const high = requestKeys[index * 2 + 1] as number;
      const low = requestKeys[index * 2] as number;
      const slot = this.requests.insert(high, low);
      this.updateEntry(slot, record, bit, 0, memo);
      if (engineKeys && index * 2 + 1 < engineKeys.length) {
        const engineSlot = this.engines.insert(
          ((engineKeys[index * 2 + 1] as number) ^ record.saltHigh) >>> 0,
          ((engineKeys[index * 2] as number) ^ record.saltLow) >>> 0,
        );
        // Read the columns after the insert: growing the table replaces them.
        const columns = this.engines.columns;
        const owner = columns[2] as Int32Array;
        const previous = this.engines.lastInsertWasNew ? 0 : (owner[engineSlot] as number);
        const previousMask = previous >> 4 === record.id ? previous & 15 : 0;
        (columns[0] as Int32Array)[engineSlot] = high | 0;
        (columns[1] as Int32Array)[engineSlot] = low | 0;
        owner[engineSlot] = record.id * 16 + (previousMask | bit);
      }
    }
    this.releaseMemo(memo);
    if (input.expiresAt !== undefined) {
      this.speculative.push({
        record,
        keys: requestKeys.slice(0, blockCount * 2),
        expiresAt: input.expiresAt,
      });
    }
  }

  private scratch = new BigUint64Array(256);

  /** Like `toUint32Pairs`, into a reused buffer (valid until the next call): saves an allocation per store. */
  private scratchPairs(keys: ReadonlyArray<bigint>): Uint32Array {
    if (this.scratch.length < keys.length) this.scratch = new BigUint64Array(keys.length * 2);
    const scratch = this.scratch;
    for (let index = 0; index < keys.length; index++) scratch[index] = keys[index] as bigint;
    return new Uint32Array(scratch.buffer, 0, keys.length * 2);
  }

  async removeBlocks(holder: Holder, tier: string, engineKeys: ReadonlyArray<bigint>): Promise<void> {
    this.maintain();
    const record = this.holders.find(holder);
    if (!record) return;
    const bit = this.tierBit(tier);
    const keys = toUint32Pairs(engineKeys);
    const memo: EntryMemo = new Map();
    const [keyHigh, keyLow, owner] = this.engines.columns as [Int32Array, Int32Array, Int32Array];
    for (let index = 0; index < engineKeys.length; index++) {
      const engineSlot = this.engines.find(
        ((keys[index * 2 + 1] as number) ^ record.saltHigh) >>> 0,
        ((keys[index * 2] as number) ^ record.saltLow) >>> 0,
      );
      if (engineSlot < 0 || (owner[engineSlot] as number) >> 4 !== record.id) continue;
      const requestSlot = this.requests.find(
        (keyHigh[engineSlot] as number) >>> 0,
        (keyLow[engineSlot] as number) >>> 0,
      );
      if (requestSlot >= 0) this.updateEntry(requestSlot, record, 0, bit, memo);
      const remaining = (owner[engineSlot] as number) & 15 & ~bit;
      if (remaining === 0) this.engines.deleteSlot(engineSlot);
      else owner[engineSlot] = record.id * 16 + remaining;
    }
    this.releaseMemo(memo);
  }

  async lookupRequestKeys(
    holder: Holder,
    engineKeys: ReadonlyArray<bigint>,
  ): Promise<Array<bigint | undefined>> {
    return this.lookupRequestKeysNow(holder, engineKeys);
  }

  lookupRequestKeysNow(holder: Holder, engineKeys: ReadonlyArray<bigint>): Array<bigint | undefined> {
    const record = this.holders.find(holder);
    if (!record) return engineKeys.map(() => undefined);
    const keys = toUint32Pairs(engineKeys);
    const [keyHigh, keyLow, owner] = this.engines.columns as [Int32Array, Int32Array, Int32Array];
    return engineKeys.map((_, index) => {
      const slot = this.engines.find(
        ((keys[index * 2 + 1] as number) ^ record.saltHigh) >>> 0,
        ((keys[index * 2] as number) ^ record.saltLow) >>> 0,
      );
      if (slot < 0 || (owner[slot] as number) >> 4 !== record.id) return undefined;
      return fromUint32Pair(keyHigh[slot] as number, keyLow[slot] as number);
    });
  }

  async clearEndpoint(endpointKey: string, dataParallelRank?: number | null): Promise<void> {
    this.holders.retireEndpoint(endpointKey, dataParallelRank);
  }

  async score(
    requestKeys: ReadonlyArray<bigint> | BigUint64Array,
    options: ScoreOptions = {},
  ): Promise<PrefixScores> {
    return this.scoreNow(requestKeys, options);
  }

  /** Per-holder scratch for the walk: block × 16 + tier mask of the last block that listed the holder. */
  private marks = new Int32Array(1024);
  private walkIds = new Int32Array(1024);
  private walkScores = new Float64Array(1024);

  /**
   * The fused walk: block 0 seeds the active holders, each later block keeps those it lists, and
   * the walk stops at the first block no active holder has. Per block the cost is the block's own
   * entry count (holders are marked, then the active list is compacted in place); no allocation.
   */
  scoreNow(requestKeys: ReadonlyArray<bigint> | BigUint64Array, options: ScoreOptions = {}): PrefixScores {
    this.expireSpeculative();
    const weights = { ...defaultTierWeights, ...options.tierWeights };
    const bitWeights = [0, 1, 2, 3].map((index) =>
      index === 3 ? (weights.gpu ?? 1) : (weights[this.tierNames[index] ?? ''] ?? 1),
    );
    // Weight of every 4-bit tier mask: the best tier the holder has the block in.
    const maskWeights = new Float64Array(16);
    for (let mask = 1; mask < 16; mask++) {
      for (let bit = 0; bit < tierBitCount; bit++)
        if (mask & (1 << bit))
          maskWeights[mask] = Math.max(maskWeights[mask] as number, bitWeights[bit] as number);
    }
    const allowed = options.candidates ? this.holders.liveIdsOf(options.candidates) : null;
    const keys = toUint32Pairs(requestKeys);
    const references = this.requests.columns[0] as Int32Array;
    const blockCount = requestKeys.length;
    const scores = new Map<string, number>();
    const settle = (holderId: number, score: number) => {
      const endpointKey = (this.holders.get(holderId) as HolderRecord).holder.endpointKey;
      if (score > (scores.get(endpointKey) ?? 0)) scores.set(endpointKey, score);
    };

    const firstSlot = blockCount > 0 ? this.requests.find(keys[1] as number, keys[0] as number) : -1;
    if (firstSlot < 0) return { totalBlocks: blockCount, scores };
    const firstReference = references[firstSlot] as number;
    const firstCodes = firstReference > 0 ? [firstReference] : (this.lists[-firstReference - 1] ?? []);
    if (this.walkIds.length < firstCodes.length) {
      this.walkIds = new Int32Array(firstCodes.length * 2);
      this.walkScores = new Float64Array(firstCodes.length * 2);
    }
    const activeIds = this.walkIds;
    const activeScores = this.walkScores;
    let activeCount = 0;
    let highestId = 0;
    for (const code of firstCodes) {
      const holderId = code >> 4;
      if (!this.holders.isAlive(holderId) || (allowed && !allowed.has(holderId))) continue;
      activeIds[activeCount] = holderId;
      activeScores[activeCount] = maskWeights[code & 15] as number;
      activeCount++;
      if (holderId > highestId) highestId = holderId;
    }
    if (this.marks.length <= highestId) this.marks = new Int32Array((highestId + 1) * 2);
    const marks = this.marks;
    // Marks left by an earlier walk may carry the same block numbers: reset the active holders' to
    // block 0 with their block-0 tiers (a run of identical blocks reuses the last mark's tiers).
    for (const code of firstCodes) if (code >> 4 < marks.length) marks[code >> 4] = code & 15;
    let previousReference = firstReference;
    let run = 0;
    // Block numbers are packed with the mask in an int32 (block × 16 + mask).
    const walkableBlocks = Math.min(blockCount, 2 ** 27);

    for (let block = 1; block < walkableBlocks && activeCount > 0; block++) {
      const slot = this.requests.find(keys[block * 2 + 1] as number, keys[block * 2] as number);
      if (slot < 0) break;
      const reference = references[slot] as number;
      // Same entry as the previous block: same holders with the same tiers, so every active holder
      // stays; count the run and credit it when it ends.
      if (reference === previousReference) {
        run++;
        continue;
      }
      if (run > 0) {
        for (let index = 0; index < activeCount; index++) {
          (activeScores[index] as number) +=
            (maskWeights[(marks[activeIds[index] as number] as number) & 15] as number) * run;
        }
        run = 0;
      }
      previousReference = reference;
      const blockMark = block * 16;
      if (reference > 0) {
        const holderId = reference >> 4;
        if (holderId < marks.length) marks[holderId] = blockMark | (reference & 15);
      } else {
        const codes = this.lists[-reference - 1] as number[];
        for (let index = 0; index < codes.length; index++) {
          const code = codes[index] as number;
          const holderId = code >> 4;
          if (holderId < marks.length) marks[holderId] = blockMark | (code & 15);
        }
      }
      let kept = 0;
      for (let index = 0; index < activeCount; index++) {
        const holderId = activeIds[index] as number;
        const mark = marks[holderId] as number;
        if (mark >> 4 === block) {
          activeIds[kept] = holderId;
          activeScores[kept] = (activeScores[index] as number) + (maskWeights[mark & 15] as number);
          kept++;
        } else {
          settle(holderId, activeScores[index] as number);
        }
      }
      activeCount = kept;
    }
    for (let index = 0; index < activeCount; index++) {
      const credit =
        run > 0 ? (maskWeights[(marks[activeIds[index] as number] as number) & 15] as number) * run : 0;
      settle(activeIds[index] as number, (activeScores[index] as number) + credit);
    }
    return { totalBlocks: blockCount, scores };
  }

  async endpointStats(): Promise<EndpointIndexStats[]> {
    const byEndpoint = new Map<string, Record<string, number>>();
    for (const record of this.holders.liveRecords()) {
      const tiers = byEndpoint.get(record.holder.endpointKey) ?? {};
      record.blocksByTier.forEach((count, index) => {
        if (count === 0) return;
        const name = index === 3 ? 'speculative' : (this.tierNames[index] as string);
        tiers[name] = (tiers[name] ?? 0) + count;
      });
      byEndpoint.set(record.holder.endpointKey, tiers);
    }
    return [...byEndpoint].map(([endpointKey, blocksByTier]) => ({ endpointKey, blocksByTier }));
  }

  async close(): Promise<void> {}

  /** Remove every entry of retired holders now (tests, and before measuring memory). */
  sweepAll(): void {
    while (this.holders.retired.size > 0) this.sweep(Number.POSITIVE_INFINITY);
  }

  /** Per-operation upkeep: expire speculation and sweep a little. */
  private maintain(): void {
    this.expireSpeculative();
    if (this.holders.retired.size > 0) this.sweep(this.sweepBudget);
  }

  private expireSpeculative(): void {
    if (this.speculative.length === 0) return;
    const now = this.now();
    while (this.speculative.length > 0 && (this.speculative[0] as SpeculativeBatch).expiresAt <= now) {
      const batch = this.speculative.shift() as SpeculativeBatch;
      const record = batch.record;
      if (!record.alive) continue;
      const memo: EntryMemo = new Map();
      for (let index = 0; index * 2 + 1 < batch.keys.length; index++) {
        const slot = this.requests.find(batch.keys[index * 2 + 1] as number, batch.keys[index * 2] as number);
        if (slot >= 0) this.updateEntry(slot, record, 0, speculativeBit, memo);
      }
      this.releaseMemo(memo);
    }
  }

  /**
   * Set and clear tier bits of one holder in a request slot (deleting the entry, or the slot, when
   * nothing is left), pruning entries of retired holders met on the way. The single-holder case,
   * by far the most common, allocates nothing.
   */
  private updateEntry(
    slot: number,
    record: HolderRecord,
    setBits: number,
    clearBits: number,
    memo?: EntryMemo,
  ): void {
    const references = this.requests.columns[0] as Int32Array;
    const reference = references[slot] as number;
    if (reference >= 0) {
      const holderId = reference >> 4;
      const mine = reference > 0 && holderId === record.id;
      if (reference === 0 || mine || !this.holders.isAlive(holderId)) {
        const oldMask = mine ? reference & 15 : 0;
        const newMask = (oldMask | setBits) & ~clearBits & 15;
        this.countTiers(record, oldMask, newMask);
        if (newMask === 0) this.requests.deleteSlot(slot);
        else references[slot] = record.id * 16 + newMask;
        return;
      }
    }
    const memoized = memo?.get(reference);
    if (memoized) {
      this.countTiers(record, memoized.oldMask, memoized.newMask);
      this.assignReference(slot, reference, memoized.newReference);
      return;
    }
    const codes = reference > 0 ? [reference] : (this.lists[-reference - 1] ?? []);
    const kept: number[] = [];
    let oldMask = 0;
    for (const code of codes) {
      const holderId = code >> 4;
      if (holderId === record.id) oldMask = code & 15;
      else if (this.holders.isAlive(holderId)) kept.push(code);
    }
    const newMask = (oldMask | setBits) & ~clearBits & 15;
    this.countTiers(record, oldMask, newMask);
    if (newMask !== 0) kept.push(record.id * 16 + newMask);
    const newReference = this.referenceFor(kept);
    if (memo) {
      // The memo holds both lists so neither index can be freed and reused during this call.
      this.retain(reference);
      this.retain(newReference);
      memo.set(reference, { newReference, oldMask, newMask });
    }
    this.assignReference(slot, reference, newReference);
  }

  private countTiers(record: HolderRecord, oldMask: number, newMask: number): void {
    // Visit only the bits that changed (usually one).
    for (let changed = oldMask ^ newMask; changed !== 0; changed &= changed - 1) {
      const bit = 31 - Math.clz32(changed & -changed);
      (record.blocksByTier[bit] as number) += (newMask >> bit) & 1 ? 1 : -1;
    }
  }

  /** The reference of an entry list: 0 (empty), the code itself (one entry), or a new shared list. */
  private referenceFor(codes: number[]): number {
    if (codes.length === 0) return 0;
    if (codes.length === 1) return codes[0] as number;
    const index = this.freeListIndexes.pop() ?? this.lists.length;
    this.lists[index] = codes;
    this.listShares[index] = 0;
    return -(index + 1);
  }

  /** Point a slot at a new reference (0 deletes the slot), keeping list share counts right. */
  private assignReference(slot: number, oldReference: number, newReference: number): void {
    this.retain(newReference);
    if (newReference === 0) this.requests.deleteSlot(slot);
    else (this.requests.columns[0] as Int32Array)[slot] = newReference;
    this.release(oldReference);
  }

  private retain(reference: number): void {
    if (reference < 0) (this.listShares[-reference - 1] as number)++;
  }

  private release(reference: number): void {
    if (reference >= 0) return;
    const index = -reference - 1;
    if (--(this.listShares[index] as number) > 0) return;
    this.lists[index] = undefined;
    this.freeListIndexes.push(index);
  }

  private releaseMemo(memo: EntryMemo): void {
    for (const [oldReference, transition] of memo) {
      this.release(oldReference);
      this.release(transition.newReference);
    }
  }

  private rewindSweep(tableStart: number, from: number, to: number): void {
    if (this.sweepingIds === null) return;
    const cursor = this.sweepCursor - tableStart;
    if (from >= cursor && to < cursor) this.sweepCursor = tableStart + to;
  }

  /** Sweep up to `budget` slots of the tables, dropping entries of retired holders. */
  private sweep(budget: number): void {
    if (
      this.sweepingIds === null ||
      this.sweepCapacity !== this.requests.slotCount + this.engines.slotCount
    ) {
      this.sweepingIds = new Set(this.holders.retired);
      this.sweepCursor = 0;
      this.sweepCapacity = this.requests.slotCount + this.engines.slotCount;
    }
    const retired = this.sweepingIds;
    const requestSlots = this.requests.slotCount;
    let examined = 0;
    // Slots that shared a list share its pruned successor too (keeps runs skippable, memory flat).
    const memo = new Map<number, number>();
    while (examined < budget && this.sweepCursor < this.sweepCapacity) {
      examined++;
      const cursor = this.sweepCursor;
      if (cursor < requestSlots) {
        if (this.requests.isOccupied(cursor)) {
          const reference = (this.requests.columns[0] as Int32Array)[cursor] as number;
          const codes = reference > 0 ? [reference] : [...(this.lists[-reference - 1] ?? [])];
          const kept = codes.filter((code) => !retired.has(code >> 4) && this.holders.isAlive(code >> 4));
          if (kept.length !== codes.length) {
            let replacement = memo.get(reference);
            if (replacement === undefined) {
              replacement = this.referenceFor(kept);
              this.retain(reference);
              this.retain(replacement);
              memo.set(reference, replacement);
            }
            this.assignReference(cursor, reference, replacement);
            // A deletion may shift the next entry into this slot: look at it again.
            if (kept.length === 0) continue;
          }
        }
      } else {
        const engineSlot = cursor - requestSlots;
        if (this.engines.isOccupied(engineSlot)) {
          const owner = (this.engines.columns[2] as Int32Array)[engineSlot] as number;
          if (retired.has(owner >> 4) || !this.holders.isAlive(owner >> 4)) {
            this.engines.deleteSlot(engineSlot);
            continue;
          }
        }
      }
      this.sweepCursor++;
    }
    if (this.sweepCursor >= this.sweepCapacity) {
      this.holders.releaseRetired(retired);
      this.sweepingIds = null;
    }
    for (const [oldReference, newReference] of memo) {
      this.release(oldReference);
      this.release(newReference);
    }
  }
}
