import { describe, expect, it } from 'vitest';
import { IndexedHeap } from './indexed-heap.js';

interface Entry {
  heapIndex: number;
  readonly value: number;
}

const entry = (value: number): Entry => ({ heapIndex: -1, value });

/** Deterministic pseudo-random sequence (LCG), so the test explores many shapes reproducibly. */
function* pseudoRandom(seed: number): Generator<number> {
  let state = seed;
  for (;;) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    yield state / 2 ** 31;
  }
}

describe('IndexedHeap', () => {
  it('pops in comparator order', () => {
    const heap = new IndexedHeap<Entry>((a, b) => a.value - b.value);
    for (const value of [5, 1, 4, 1, 3, 9, 2]) heap.push(entry(value));
    const popped: number[] = [];
    for (let item = heap.pop(); item; item = heap.pop()) popped.push(item.value);
    expect(popped).toEqual([1, 1, 2, 3, 4, 5, 9]);
    expect(heap.pop()).toBeUndefined();
    expect(heap.peek()).toBeUndefined();
  });

  it('removes items from the middle and keeps the order', () => {
    const random = pseudoRandom(42);
    const heap = new IndexedHeap<Entry>((a, b) => a.value - b.value);
    const live = new Set<Entry>();
    for (let step = 0; step < 2000; step++) {
      const roll = random.next().value as number;
      if (roll < 0.6 || live.size === 0) {
        const item = entry(Math.floor((random.next().value as number) * 100));
        heap.push(item);
        live.add(item);
      } else {
        const victims = [...live];
        const victim = victims[Math.floor((random.next().value as number) * victims.length)] as Entry;
        expect(heap.remove(victim)).toBe(true);
        expect(victim.heapIndex).toBe(-1);
        live.delete(victim);
      }
      expect(heap.size).toBe(live.size);
      const smallest = Math.min(...[...live].map((item) => item.value));
      if (live.size > 0) expect(heap.peek()?.value).toBe(smallest);
    }
  });

  it('refuses to remove an item it does not hold', () => {
    const heap = new IndexedHeap<Entry>((a, b) => a.value - b.value);
    const held = entry(1);
    heap.push(held);
    expect(heap.remove(entry(1))).toBe(false);
    expect(heap.remove(held)).toBe(true);
    expect(heap.remove(held)).toBe(false);
    expect(heap.size).toBe(0);
  });
});
