import { InvalidArgumentError } from '@llmd/core';

/**
 * A first-in first-out queue holding at most `capacity` items. Backed by a ring so that a full
 * queue of 100,000 batches costs O(1) per operation, and grown on demand so that a large capacity
 * that is never used costs no memory.
 */
export class BoundedFifo<Item> {
  readonly capacity: number;
  private slots: Array<Item | undefined> = [];
  private head = 0;
  private size = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new InvalidArgumentError(`queue capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  get length(): number {
    return this.size;
  }

  get isFull(): boolean {
    return this.size >= this.capacity;
  }

  /** Appends `item`; returns false (and keeps the queue unchanged) when the queue is full. */
  push(item: Item): boolean {
    if (this.isFull) return false;
    if (this.size === this.slots.length) this.grow();
    this.slots[(this.head + this.size) % this.slots.length] = item;
    this.size += 1;
    return true;
  }

  /** Appends `item`, first evicting the oldest item when full; returns the evicted item. */
  pushEvictingOldest(item: Item): Item | undefined {
    const evicted = this.isFull ? this.shift() : undefined;
    this.push(item);
    return evicted;
  }

  shift(): Item | undefined {
    if (this.size === 0) return undefined;
    const item = this.slots[this.head];
    // Clear the slot so the queue does not keep a reference to a payload it no longer owns.
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) % this.slots.length;
    this.size -= 1;
    return item;
  }

  clear(): void {
    this.slots = [];
    this.head = 0;
    this.size = 0;
  }

  /** Oldest first. */
  *[Symbol.iterator](): IterableIterator<Item> {
    for (let offset = 0; offset < this.size; offset += 1) {
      yield this.slots[(this.head + offset) % this.slots.length] as Item;
    }
  }

  private grow(): void {
    const grownLength = Math.min(this.capacity, Math.max(16, this.slots.length * 2));
    const grown: Array<Item | undefined> = new Array(grownLength);
    for (let offset = 0; offset < this.size; offset += 1) {
      grown[offset] = this.slots[(this.head + offset) % this.slots.length];
    }
    this.slots = grown;
    this.head = 0;
  }
}
