import { describe, expect, it } from 'vitest';
import { Uint64HashTable } from './uint64-hash-table.js';

describe('Uint64HashTable', () => {
  it('behaves like a Map under random inserts and deletes, across growth', () => {
    const table = new Uint64HashTable(1, 16);
    const reference = new Map<string, number>();
    let state = 12345;
    const next = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state;
    };
    for (let step = 0; step < 50_000; step++) {
      // A small key space forces collisions, reinserts and long probe chains.
      const high = next() % 7;
      const low = next() % 3000;
      const key = `${high}:${low}`;
      if (next() % 3 === 0) {
        const slot = table.find(high, low);
        expect(slot >= 0).toBe(reference.has(key));
        if (slot >= 0) table.deleteSlot(slot);
        reference.delete(key);
      } else {
        const slot = table.insert(high, low);
        expect(table.lastInsertWasNew).toBe(!reference.has(key));
        (table.columns[0] as Int32Array)[slot] = step;
        reference.set(key, step);
      }
    }
    expect(table.size).toBe(reference.size);
    for (const [key, value] of reference) {
      const [high, low] = key.split(':').map(Number) as [number, number];
      const slot = table.find(high, low);
      expect((table.columns[0] as Int32Array)[slot]).toBe(value);
    }
  });

  it('distinguishes keys that differ only in the high half, including zero keys', () => {
    const table = new Uint64HashTable(1);
    const zero = table.insert(0, 0);
    const other = table.insert(1, 0);
    expect(zero).not.toBe(other);
    expect(table.find(0, 0)).toBe(zero);
    expect(table.find(2, 0)).toBe(-1);
  });
});
