import type { BlockStoredEvent } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { BlockHashMatcher, detectBlockHashing, hashingCandidates } from './detect-block-hashing.js';

const tokens = Array.from({ length: 32 }, (_, index) => index + 1);

function rootEvent(blockHashes: bigint[], loraName: string | null = null): BlockStoredEvent {
  return {
    type: 'BlockStored',
    blockHashes,
    parentBlockHash: null,
    tokenIds: tokens,
    blockSize: 16,
    loraId: null,
    medium: 'GPU',
    loraName,
  };
}

// Golden event values from block-hashing.md §6.1: PYTHONHASHSEED "0", block size 16, tokens 1..32.
const golden = {
  sha256_cbor: [3236607068019569386n, 2758186210834249151n],
  xxhash_cbor: [882618318818381833n, 12890060145260523405n],
  sha256: [7536218907325174565n, 9048537298590080561n],
} as const;

describe('detectBlockHashing', () => {
  it.each(Object.entries(golden))(
    'recognises %s with seed "0" from golden engine hashes',
    (algorithm, hashes) => {
      expect(detectBlockHashing([rootEvent([...hashes])], hashingCandidates([], []))).toEqual({
        algorithm,
        seed: '0',
      });
    },
  );

  it('tries the preferred algorithm and seed first, and hashes the LoRA name in', () => {
    const candidates = hashingCandidates(['xxhash_cbor'], ['7']);
    expect(candidates[0]).toEqual({ algorithm: 'xxhash_cbor', seed: '7' });
    expect(candidates).toHaveLength(4 * 10);
    // The LoRA name enters every block hash, so the LoRA-less golden values no longer match.
    const matcher = new BlockHashMatcher();
    expect(
      matcher.matches(rootEvent([...golden.sha256_cbor], 'my-lora'), { algorithm: 'sha256_cbor', seed: '0' }),
    ).toBe(false);
  });

  it('finds nothing for hashes no candidate produces (a random seed)', () => {
    expect(detectBlockHashing([rootEvent([1n, 2n])], hashingCandidates([], []))).toBeUndefined();
    expect(detectBlockHashing([], hashingCandidates([], []))).toBeUndefined();
  });

  it('needs every event to match', () => {
    const events = [rootEvent([...golden.sha256_cbor]), rootEvent([...golden.xxhash_cbor])];
    expect(detectBlockHashing(events, hashingCandidates([], []))).toBeUndefined();
  });
});
