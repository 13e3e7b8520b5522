/**
 * The approximate prefix index (scheduler.md §7.4): which endpoints were recently sent which
 * prompt blocks. `hashToEndpoints` maps a block hash to its holders; every endpoint has an LRU of
 * the hashes it holds, bounded by a capacity, and an eviction removes the endpoint from that
 * hash's holders.
 *
 * Representation, chosen for memory and the lookup walk:
 * - endpoints are interned to small integer ids, so holders are numbers, not strings;
 * - a hash with one holder (the common case) maps to the id itself; several holders share a small
 *   array, never a `Set` (a `Set` per hash costs ~100 bytes, times millions of entries);
 * - hashes are keyed by 53 of their 64 bits, a number (a `Map` keyed by `bigint` is slower and
 *   larger). The chain itself uses all 64 bits; a 53-bit collision needs ~2^26 entries to become
 *   likely per lookup, and would only mis-score one block;
 * - an LRU is a `Set` of keys in use order: `delete` + `add` moves a key to the end. Evictions read
 *   the oldest key through one iterator kept per endpoint, not a fresh `values()` per eviction: a
 *   fresh iterator walks over every entry already deleted from the front (V8 only compacts a `Set`
 *   when it rehashes), which made a full LRU's evictions quadratic (0.7 ms per 782-block add at
 *   8,192 blocks per endpoint, 0.2 ms with the kept iterator, on a shared 2-core machine).
 */
export class ApproxPrefixIndex {
  readonly #hashToEndpoints = new Map<number, number | number[]>();
  readonly #endpointIds = new Map<string, number>();
  /** Per id: the endpoint key, or undefined for a free id. */
  readonly #endpointKeys: Array<string | undefined> = [];
  /** Per id: the hashes the endpoint holds, least recently used first. */
  readonly #lrus: Array<Set<number> | undefined> = [];
  /**
   * Per id: the iterator evictions read the oldest key from. Every key it has passed was evicted
   * (deleted) right after it was read, and keys used again move behind it, so its next live key is
   * always the least recently used one.
   */
  readonly #evictionCursors: Array<Iterator<number> | undefined> = [];
  readonly #freeIds: number[] = [];

  /**
   * Records that `endpointKey` now holds these blocks, trimming its LRU to `capacity` entries.
   * Blocks are added last to first, so the first blocks of a prompt are the most recently used:
   * when the LRU is full, prompt tails go before the prefixes they extend (llm-d adds first to
   * last, which evicts block 0 first and with it the whole chain's match).
   */
  add(hashes: Uint32Array, endpointKey: string, capacity: number): void {
    const id = this.#intern(endpointKey);
    const lru = this.#lrus[id] as Set<number>;
    for (let block = hashes.length / 2 - 1; block >= 0; block--) {
      const key = hashKey(hashes, block);
      if (lru.delete(key)) {
        lru.add(key);
        continue;
      }
      lru.add(key);
      const holders = this.#hashToEndpoints.get(key);
      if (holders === undefined) this.#hashToEndpoints.set(key, id);
      else if (typeof holders === 'number') {
        if (holders !== id) this.#hashToEndpoints.set(key, [holders, id]);
      } else if (!holders.includes(id)) holders.push(id);
    }
    while (lru.size > capacity) {
      const oldest = this.#oldest(id, lru);
      lru.delete(oldest);
      this.#removeHolder(oldest, id);
    }
  }

  /**
   * Walks the blocks from the first while some endpoint holds the block; every holder of a
   * walked block scores one (llm-d's greedy longest-prefix walk). Returns the per-endpoint counts.
   */
  match(hashes: Uint32Array): PrefixMatchCounts {
    const counts = new Int32Array(this.#endpointKeys.length);
    const blocks = hashes.length / 2;
    let walked = 0;
    for (; walked < blocks; walked++) {
      const holders = this.#hashToEndpoints.get(hashKey(hashes, walked));
      if (holders === undefined) break;
      if (typeof holders === 'number') counts[holders] = (counts[holders] as number) + 1;
      else for (const holder of holders) counts[holder] = (counts[holder] as number) + 1;
    }
    const ids = this.#endpointIds;
    return {
      walkedBlocks: walked,
      blocksOf: (endpointKey) => {
        const id = ids.get(endpointKey);
        return id === undefined ? 0 : (counts[id] ?? 0);
      },
    };
  }

  /** Forgets an endpoint and every block it held. Returns false when it held nothing. */
  removeEndpoint(endpointKey: string): boolean {
    const id = this.#endpointIds.get(endpointKey);
    if (id === undefined) return false;
    for (const key of this.#lrus[id] as Set<number>) this.#removeHolder(key, id);
    this.#endpointIds.delete(endpointKey);
    this.#endpointKeys[id] = undefined;
    this.#lrus[id] = undefined;
    this.#evictionCursors[id] = undefined;
    this.#freeIds.push(id);
    return true;
  }

  /** Endpoints holding at least one block. */
  endpointKeys(): string[] {
    return [...this.#endpointIds.keys()];
  }

  /** How many blocks an endpoint holds. */
  blocksHeld(endpointKey: string): number {
    const id = this.#endpointIds.get(endpointKey);
    return id === undefined ? 0 : (this.#lrus[id]?.size ?? 0);
  }

  /** Distinct block hashes in the index. */
  get size(): number {
    return this.#hashToEndpoints.size;
  }

  #intern(endpointKey: string): number {
    let id = this.#endpointIds.get(endpointKey);
    if (id !== undefined) return id;
    id = this.#freeIds.pop() ?? this.#endpointKeys.length;
    this.#endpointIds.set(endpointKey, id);
    this.#endpointKeys[id] = endpointKey;
    this.#lrus[id] = new Set();
    return id;
  }

  /** The least recently used key of a non-empty LRU (see {@link #evictionCursors}). */
  #oldest(id: number, lru: Set<number>): number {
    let step = this.#evictionCursors[id]?.next();
    if (step === undefined || step.done === true) {
      // An exhausted iterator stays exhausted, even when keys are added later: start a new one.
      const cursor = lru.values();
      this.#evictionCursors[id] = cursor;
      step = cursor.next();
    }
    return step.value as number;
  }

  #removeHolder(key: number, id: number): void {
    const holders = this.#hashToEndpoints.get(key);
    if (holders === undefined) return;
    if (typeof holders === 'number') {
      if (holders === id) this.#hashToEndpoints.delete(key);
      return;
    }
    const position = holders.indexOf(id);
    if (position < 0) return;
    holders.splice(position, 1);
    if (holders.length === 1) this.#hashToEndpoints.set(key, holders[0] as number);
  }
}

/** Per-endpoint result of one {@link ApproxPrefixIndex.match} walk. */
export interface PrefixMatchCounts {
  /** Blocks walked before the first block nobody holds. */
  readonly walkedBlocks: number;
  /** Blocks of the walk the endpoint holds (0 for unknown endpoints). */
  blocksOf(endpointKey: string): number;
}

/** The index key of block `block`: the hash's low 53 bits as a number. */
function hashKey(hashes: Uint32Array, block: number): number {
  return ((hashes[block * 2 + 1] as number) & 0x1fffff) * 4294967296 + (hashes[block * 2] as number);
}
