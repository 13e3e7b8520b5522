/**
 * Endpoint keys in least-recently-used order, bounded: the least recently used key is dropped once
 * more than `capacity` are tracked. Each use gets a sequence number so callers can rank any subset.
 */
export class RecentlyUsedEndpoints {
  /** Insertion order is use order; the value is the use's sequence number. */
  readonly #lastUse = new Map<string, number>();
  readonly #capacity: number;
  #sequence = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#lastUse.size;
  }

  /** Sequence number of the endpoint's last use (higher = more recent), or undefined if never used. */
  lastUse(endpointKey: string): number | undefined {
    return this.#lastUse.get(endpointKey);
  }

  /** Marks the endpoint as the most recently used. */
  touch(endpointKey: string): void {
    this.#lastUse.delete(endpointKey);
    this.#sequence += 1;
    this.#lastUse.set(endpointKey, this.#sequence);
    if (this.#lastUse.size > this.#capacity)
      this.#lastUse.delete(this.#lastUse.keys().next().value as string);
  }
}
