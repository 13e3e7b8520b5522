import { InvalidArgumentError } from '@llmd/core';

/**
 * A first-in first-out queue that refuses items beyond `capacity`, so a publisher that outruns its
 * consumer costs bounded memory. Shifting advances a head index (O(1)); the consumed prefix is
 * dropped once it is at least half the backing array.
 */
export class BoundedQueue<Item> {
  readonly capacity: number;
  private items: Array<Item | undefined> = [];
  private head = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new InvalidArgumentError(`queue capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** Appends `item`; false (queue unchanged) when full. */
  push(item: Item): boolean {
    if (this.length >= this.capacity) return false;
    this.items.push(item);
    return true;
  }

  shift(): Item | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    // Release the reference: queued payloads can be large.
    this.items[this.head] = undefined;
    this.head += 1;
    if (this.head === this.items.length) this.clear();
    else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
