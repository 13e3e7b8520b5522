import type { KvEvent } from '@llmd/core';

/** One physical KV block. A block with a hash holds a full, reusable block of the prefix cache. */
export interface KvBlock {
  readonly id: number;
  /** Engine hash (the 64-bit value events carry) once the block is full and cached; null while filling. */
  hash: bigint | null;
  /** Requests using the block. A block in use is never evicted. */
  referenceCount: number;
  /** What the block was stored with, kept so an evicted block can move to the CPU tier intact. */
  stored: StoredBlockMetadata | null;
}

export interface KvBlockPoolOptions {
  numberOfGpuBlocks: number;
  blockSize: number;
  /** Blocks of the CPU tier that keeps evicted GPU blocks (0 disables it). */
  numberOfCpuBlocks: number;
  /** Where the pool reports cache changes (batched per engine step by the caller). */
  emit: (event: KvEvent) => void;
}

/** Describes a run of blocks being stored: the hash before the run and the run's tokens. */
export interface StoredBlockMetadata {
  parentHash: bigint | null;
  tokenIds: ReadonlyArray<number>;
  loraName: string | null;
  loraId: number | null;
}

/**
 * vLLM's block pool with prefix caching: cached blocks are found by hash; free blocks (cached or
 * not) sit in an LRU queue and are reused oldest first, evicting their cache entry (a
 * `BlockRemoved` event); an optional CPU tier keeps evicted blocks (medium `CPU`) so a later request
 * can still hit them.
 */
export class KvBlockPool {
  readonly numberOfGpuBlocks: number;
  readonly blockSize: number;
  private readonly blocks: KvBlock[];
  private readonly cachedByHash = new Map<bigint, KvBlock>();
  /** Free blocks in least-recently-used order (Map keeps insertion order; re-insert to refresh). */
  private readonly freeBlocks = new Map<number, KvBlock>();
  /** CPU tier: hash → metadata, least recently stored first. */
  private readonly cpuTier = new Map<bigint, StoredBlockMetadata>();
  private readonly numberOfCpuBlocks: number;
  private readonly emit: (event: KvEvent) => void;

  constructor(options: KvBlockPoolOptions) {
    this.numberOfGpuBlocks = options.numberOfGpuBlocks;
    this.blockSize = options.blockSize;
    this.numberOfCpuBlocks = options.numberOfCpuBlocks;
    this.emit = options.emit;
    this.blocks = Array.from({ length: options.numberOfGpuBlocks }, (_, id) => ({
      id,
      hash: null,
      referenceCount: 0,
      stored: null,
    }));
    for (const block of this.blocks) this.freeBlocks.set(block.id, block);
  }

  /** Blocks in use by requests, over all blocks: what vLLM reports as `kv_cache_usage_perc`. */
  get usage(): number {
    return (this.numberOfGpuBlocks - this.freeBlocks.size) / this.numberOfGpuBlocks;
  }

  /** How many leading hashes are cached on GPU, then how many more only in the CPU tier. */
  longestCachedPrefix(hashes: ReadonlyArray<bigint>): { gpuBlocks: number; cpuBlocks: number } {
    let gpuBlocks = 0;
    while (gpuBlocks < hashes.length && this.cachedByHash.has(hashes[gpuBlocks] as bigint)) gpuBlocks++;
    let cpuBlocks = 0;
    while (
      gpuBlocks + cpuBlocks < hashes.length &&
      this.cpuTier.has(hashes[gpuBlocks + cpuBlocks] as bigint)
    ) {
      cpuBlocks++;
    }
    return { gpuBlocks, cpuBlocks };
  }

  /** How many of these cached blocks sit in the free queue (taking them shrinks what `allocate` can use). */
  freeCachedCount(hashes: ReadonlyArray<bigint>): number {
    let count = 0;
    for (const hash of hashes) if (this.cachedByHash.get(hash)?.referenceCount === 0) count++;
    return count;
  }

  /** Take a reference on cached GPU blocks (they leave the free queue while in use). */
  acquireCached(hashes: ReadonlyArray<bigint>): KvBlock[] {
    return hashes.map((hash) => {
      const block = this.cachedByHash.get(hash);
      if (!block) throw new Error(`block ${hash} is not cached`);
      if (block.referenceCount++ === 0) this.freeBlocks.delete(block.id);
      return block;
    });
  }

  /** Whether `count` blocks can be allocated now (free blocks, cached or not, are reusable). */
  canAllocate(count: number): boolean {
    return count <= this.freeBlocks.size;
  }

  /** Allocate `count` empty blocks, evicting the least recently used free cached blocks. */
  allocate(count: number): KvBlock[] {
    if (count > this.freeBlocks.size)
      throw new Error(`cannot allocate ${count} blocks, ${this.freeBlocks.size} free`);
    const allocated: KvBlock[] = [];
    const evicted: Array<{ hash: bigint; stored: StoredBlockMetadata | null }> = [];
    for (const block of this.freeBlocks.values()) {
      if (allocated.length === count) break;
      if (block.hash !== null) {
        evicted.push({ hash: block.hash, stored: block.stored });
        this.cachedByHash.delete(block.hash);
        block.hash = null;
        block.stored = null;
      }
      allocated.push(block);
    }
    for (const block of allocated) {
      this.freeBlocks.delete(block.id);
      block.referenceCount = 1;
    }
    if (evicted.length > 0) {
      this.emit({ type: 'BlockRemoved', blockHashes: evicted.map((entry) => entry.hash), medium: 'GPU' });
      this.offloadToCpu(evicted);
    }
    return allocated;
  }

  /**
   * Register full blocks in the prefix cache under their hashes and report each run of newly
   * stored blocks as one `BlockStored`. A hash already cached by another block keeps the older copy
   * (vLLM does the same), which splits the run.
   */
  commit(blocks: ReadonlyArray<KvBlock>, hashes: ReadonlyArray<bigint>, metadata: StoredBlockMetadata): void {
    let runStart = -1;
    const flush = (runEnd: number) => {
      if (runStart < 0) return;
      this.emit({
        type: 'BlockStored',
        blockHashes: hashes.slice(runStart, runEnd),
        parentBlockHash: runStart === 0 ? metadata.parentHash : (hashes[runStart - 1] as bigint),
        tokenIds: metadata.tokenIds.slice(runStart * this.blockSize, runEnd * this.blockSize),
        blockSize: this.blockSize,
        loraId: metadata.loraId,
        medium: 'GPU',
        loraName: metadata.loraName,
      });
      runStart = -1;
    };
    for (let index = 0; index < blocks.length; index++) {
      const block = blocks[index] as KvBlock;
      const hash = hashes[index] as bigint;
      if (block.hash !== null || this.cachedByHash.has(hash)) {
        flush(index);
        continue;
      }
      block.hash = hash;
      block.stored = {
        parentHash: index === 0 ? metadata.parentHash : (hashes[index - 1] as bigint),
        tokenIds: metadata.tokenIds.slice(index * this.blockSize, (index + 1) * this.blockSize),
        loraName: metadata.loraName,
        loraId: metadata.loraId,
      };
      this.cachedByHash.set(hash, block);
      if (runStart < 0) runStart = index;
    }
    flush(blocks.length);
  }

  /** Bring blocks found in the CPU tier back onto fresh GPU blocks (counts as a cache hit). */
  promoteFromCpu(hashes: ReadonlyArray<bigint>, parentHash: bigint | null): KvBlock[] {
    const entries = hashes.map((hash) => this.cpuTier.get(hash));
    const blocks = this.allocate(hashes.length);
    this.commit(blocks, hashes, {
      parentHash,
      tokenIds: entries.flatMap((entry) => [...(entry?.tokenIds ?? [])]),
      loraName: entries[0]?.loraName ?? null,
      loraId: entries[0]?.loraId ?? null,
    });
    return blocks;
  }

  /** Drop a request's reference; unused cached blocks stay reusable, unused partial ones become plain free. */
  release(blocks: ReadonlyArray<KvBlock>): void {
    // Free in reverse so a sequence's tail is evicted before its head (vLLM frees in reverse order too).
    for (let index = blocks.length - 1; index >= 0; index--) {
      const block = blocks[index] as KvBlock;
      if (block.referenceCount <= 0) continue;
      if (--block.referenceCount === 0) this.freeBlocks.set(block.id, block);
    }
  }

  /** `/reset_prefix_cache`: forget every cached block not in use (vLLM refuses while blocks are in use). */
  reset(): boolean {
    if (this.freeBlocks.size !== this.numberOfGpuBlocks) return false;
    for (const block of this.blocks) {
      block.hash = null;
      block.stored = null;
    }
    this.cachedByHash.clear();
    this.cpuTier.clear();
    this.emit({ type: 'AllBlocksCleared' });
    return true;
  }

  private offloadToCpu(evicted: ReadonlyArray<{ hash: bigint; stored: StoredBlockMetadata | null }>): void {
    if (this.numberOfCpuBlocks === 0) return;
    for (const { hash, stored } of evicted) {
      this.cpuTier.delete(hash);
      this.cpuTier.set(hash, stored ?? { parentHash: null, tokenIds: [], loraName: null, loraId: null });
    }
    const removed: bigint[] = [];
    for (const hash of this.cpuTier.keys()) {
      if (this.cpuTier.size - removed.length <= this.numberOfCpuBlocks) break;
      removed.push(hash);
    }
    for (const hash of removed) this.cpuTier.delete(hash);
    // Offload events carry no tokens, as vLLM's OffloadingConnector sends them.
    this.emit({
      type: 'BlockStored',
      blockHashes: evicted.map((entry) => entry.hash),
      parentBlockHash: null,
      tokenIds: [],
      blockSize: this.blockSize,
      loraId: null,
      medium: 'CPU',
      loraName: null,
    });
    if (removed.length > 0) this.emit({ type: 'BlockRemoved', blockHashes: removed, medium: 'CPU' });
  }
}
