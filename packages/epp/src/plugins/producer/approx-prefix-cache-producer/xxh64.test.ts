import { describe, expect, it } from 'vitest';
import { blockHashValue, PrefixBlockHasher } from './prefix-block-hasher.js';
import { Xxh64 } from './xxh64.js';

// Golden values computed with the reference C implementation (through @node-rs/xxhash, seed 0).
const value = (out: Uint32Array) => (BigInt(out[1] as number) << 32n) | BigInt(out[0] as number);

describe('Xxh64', () => {
  const xxh64 = new Xxh64();
  const out = new Uint32Array(2);

  it('matches the reference on bytes of every tail shape', () => {
    xxh64.bytes(new Uint8Array(0), out, 0);
    expect(value(out)).toBe(0xef46db3751d8e999n);
    xxh64.bytes(Buffer.from('abc'), out, 0);
    expect(value(out)).toBe(0x44bc2cf5ad770999n);
    xxh64.bytes(Buffer.from('Qwen/Qwen3-32B'), out, 0);
    expect(value(out)).toBe(5821188202861954651n);
    xxh64.bytes(Buffer.from('test-modelsalt-1'), out, 0);
    expect(value(out)).toBe(454493568332102017n);
  });

  it('hashes token ids as their little-endian uint32 bytes', () => {
    const ids = Array.from({ length: 100 }, (_, index) => index + 1);
    xxh64.tokenIds(ids, 0, 100, out, 0);
    expect(value(out)).toBe(7213082889962200225n);
    xxh64.tokenIds(ids, 0, 5, out, 0);
    expect(value(out)).toBe(2225527998858241354n);
    // The same bytes through the generic path give the same hash, for every length up to 3 stripes.
    for (let count = 0; count <= 100; count++) {
      const bytes = Buffer.alloc(count * 4);
      for (let index = 0; index < count; index++) bytes.writeUInt32LE(ids[index] as number, index * 4);
      xxh64.bytes(bytes, out, 0);
      const expected = value(out);
      xxh64.tokenIds(ids, 0, count, out, 0);
      expect(value(out)).toBe(expected);
    }
  });

  it('hashes two little-endian words like their 16 bytes', () => {
    const bytes = Buffer.alloc(16);
    bytes.writeBigUInt64LE(0xfedcba9876543210n, 0);
    bytes.writeBigUInt64LE(0xffffffffffffffffn, 8);
    xxh64.bytes(bytes, out, 0);
    const expected = value(out);
    xxh64.twoWords(0xfedcba98, 0x76543210, 0xffffffff, 0xffffffff, out, 0);
    expect(value(out)).toBe(expected);
  });
});

describe('PrefixBlockHasher', () => {
  const hasher = new PrefixBlockHasher();
  const tokens = Array.from({ length: 150 }, (_, index) => index + 1);
  const values = (hashes: Uint32Array) =>
    Array.from({ length: hashes.length / 2 }, (_, block) => blockHashValue(hashes, block));

  it('chains blocks from XXH64(model ‖ salt), hashing the final partial block too', () => {
    expect(values(hasher.hash(tokens, 64, 100, 'test-model', undefined))).toEqual([
      3520800852488867500n,
      3093390089735223102n,
      8257812454720899339n,
    ]);
    expect(values(hasher.hash(tokens, 64, 100, 'test-model', 'salt-1'))).toEqual([
      16766970698832847973n,
      15556189192213200880n,
      14011613357841717363n,
    ]);
    expect(values(hasher.hash([4294967295, 0, 123456789], 64, 100, 'm', undefined))).toEqual([
      3228762260776427599n,
    ]);
  });

  it('stops at maxBlocks and hashes nothing for an empty prompt', () => {
    expect(values(hasher.hash(tokens, 64, 2, 'test-model', undefined))).toEqual([
      3520800852488867500n,
      3093390089735223102n,
    ]);
    expect(hasher.hash([], 64, 100, 'test-model', undefined)).toHaveLength(0);
  });

  it('shares leading hashes between prompts with a common prefix only', () => {
    const extended = [...tokens.slice(0, 128), 999, 998];
    const a = values(hasher.hash(tokens, 64, 100, 'test-model', undefined));
    const b = values(hasher.hash(extended, 64, 100, 'test-model', undefined));
    expect(b.slice(0, 2)).toEqual(a.slice(0, 2));
    expect(b[2]).not.toBe(a[2]);
    expect(values(hasher.hash(tokens, 64, 100, 'other-model', undefined))[0]).not.toBe(a[0]);
  });
});
