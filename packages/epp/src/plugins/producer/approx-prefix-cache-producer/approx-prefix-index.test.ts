import { describe, expect, it } from 'vitest';
import { ApproxPrefixIndex } from './approx-prefix-index.js';

/** Hashes `[low, high]` per block from small distinct values (the index only compares them). */
function hashes(...blocks: number[]): Uint32Array {
  const pairs = new Uint32Array(blocks.length * 2);
  blocks.forEach((block, index) => {
    pairs[index * 2] = block;
    pairs[index * 2 + 1] = block * 7919;
  });
  return pairs;
}

describe('ApproxPrefixIndex', () => {
  it('walks from the first block while someone holds it, counting every holder', () => {
    const index = new ApproxPrefixIndex();
    index.add(hashes(1, 2, 3), 'a:1', 100);
    index.add(hashes(1, 2), 'b:1', 100);
    const match = index.match(hashes(1, 2, 3, 4));
    expect(match.walkedBlocks).toBe(3);
    expect(match.blocksOf('a:1')).toBe(3);
    expect(match.blocksOf('b:1')).toBe(2);
    expect(match.blocksOf('unknown:1')).toBe(0);
    // Nobody holds block 0 of this prompt: the walk stops at once, even though block 2 is held.
    const miss = index.match(hashes(9, 2, 3));
    expect(miss.walkedBlocks).toBe(0);
    expect(miss.blocksOf('a:1')).toBe(0);
  });

  it('trims each LRU to its capacity, prompt tails first, and forgets evicted holders', () => {
    const index = new ApproxPrefixIndex();
    index.add(hashes(1, 2, 3, 4), 'a:1', 2);
    expect(index.blocksHeld('a:1')).toBe(2);
    expect(index.match(hashes(1, 2, 3, 4)).blocksOf('a:1')).toBe(2);
    // A second prompt pushes out the least recently used: the first prompt's blocks.
    index.add(hashes(7, 8), 'a:1', 2);
    expect(index.match(hashes(1, 2)).blocksOf('a:1')).toBe(0);
    expect(index.match(hashes(7, 8)).blocksOf('a:1')).toBe(2);
    expect(index.size).toBe(2);
  });

  it('refreshes blocks sent again instead of duplicating them', () => {
    const index = new ApproxPrefixIndex();
    index.add(hashes(1, 2), 'a:1', 3);
    index.add(hashes(5), 'a:1', 3);
    index.add(hashes(1, 2), 'a:1', 3); // 1 and 2 are now the most recent
    index.add(hashes(6), 'a:1', 3); // evicts 5
    expect(index.blocksHeld('a:1')).toBe(3);
    expect(index.match(hashes(1, 2)).blocksOf('a:1')).toBe(2);
    expect(index.match(hashes(5)).blocksOf('a:1')).toBe(0);
  });

  it('evicts in least-recently-used order over many adds, with refreshed blocks kept', () => {
    // Checks the kept eviction iterator against a plain model of the LRU over many evictions.
    const index = new ApproxPrefixIndex();
    const capacity = 50;
    const model: number[] = []; // least recent first
    let next = 1000;
    for (let round = 0; round < 200; round++) {
      // Blocks are added last to first: the prompt's first block ends up most recent.
      const shared = [1 + (round % 7), 20 + (round % 3)];
      const fresh = Array.from({ length: 1 + (round % 11) }, () => next++);
      const prompt = [...shared, ...fresh];
      index.add(hashes(...prompt), 'a:1', capacity);
      for (const block of [...prompt].reverse()) {
        const position = model.indexOf(block);
        if (position >= 0) model.splice(position, 1);
        model.push(block);
      }
      model.splice(0, Math.max(0, model.length - capacity));
      expect(index.blocksHeld('a:1')).toBe(model.length);
    }
    for (const block of model) expect(index.match(hashes(block)).blocksOf('a:1')).toBe(1);
    expect(index.size).toBe(model.length);
  });

  it('removes an endpoint from every block it held, keeping the other holders', () => {
    const index = new ApproxPrefixIndex();
    index.add(hashes(1, 2), 'a:1', 10);
    index.add(hashes(1, 2), 'b:1', 10);
    index.add(hashes(1, 2), 'c:1', 10);
    expect(index.removeEndpoint('b:1')).toBe(true);
    expect(index.removeEndpoint('b:1')).toBe(false);
    const match = index.match(hashes(1, 2));
    expect([match.blocksOf('a:1'), match.blocksOf('b:1'), match.blocksOf('c:1')]).toEqual([2, 0, 2]);
    index.removeEndpoint('a:1');
    index.removeEndpoint('c:1');
    expect(index.size).toBe(0);
    expect(index.endpointKeys()).toEqual([]);
    // Ids are reused after removal without mixing up endpoints.
    index.add(hashes(3), 'd:1', 10);
    expect(index.match(hashes(3)).blocksOf('d:1')).toBe(1);
    expect(index.match(hashes(3)).blocksOf('a:1')).toBe(0);
  });
});
