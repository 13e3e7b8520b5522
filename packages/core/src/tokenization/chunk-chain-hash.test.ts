import { describe, expect, it } from 'vitest';
import { chunkChainHashes } from './chunk-chain-hash.js';

describe('chunkChainHashes', () => {
  it('hashes full chunks only, each hash covering the whole prefix', () => {
    expect(chunkChainHashes('abcdefghij', 4)).toHaveLength(2);
    expect(chunkChainHashes('abc', 4)).toEqual([]);
    const [first, second] = chunkChainHashes('abcdefgh', 4);
    expect(typeof first).toBe('bigint');
    expect(second).not.toBe(first);
  });

  it('agrees exactly as long as the texts agree', () => {
    const left = chunkChainHashes('aaaabbbbccccdddd', 4);
    const right = chunkChainHashes('aaaabbbbXcccdddd', 4);
    expect(right.slice(0, 2)).toEqual(left.slice(0, 2));
    // A change in one chunk changes every later hash, even where the chunks are equal again.
    expect(right[2]).not.toBe(left[2]);
    expect(right[3]).not.toBe(left[3]);
    expect(chunkChainHashes('bbbbaaaa', 4)[1]).not.toBe(chunkChainHashes('aaaabbbb', 4)[1]);
  });

  it('is deterministic across calls', () => {
    expect(chunkChainHashes('東京 🎉 café '.repeat(40), 16)).toEqual(
      chunkChainHashes('東京 🎉 café '.repeat(40), 16),
    );
  });
});
