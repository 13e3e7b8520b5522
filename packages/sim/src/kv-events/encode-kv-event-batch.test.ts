import type { KvEventBatch } from '@llmd/core';
import {
  kvEventGoldenArrayHex as goldenArrayHex,
  kvEventGoldenBatch as goldenBatch,
  kvEventGoldenMapHex as goldenMapHex,
} from '@llmd/core/testing';
import { decode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { encodeKvEventBatch } from './encode-kv-event-batch.js';

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const decodeWithBigInts = (bytes: Uint8Array): unknown => decode(bytes, { useBigInt64: true });

describe('encodeKvEventBatch', () => {
  it('reproduces the array-form golden bytes', () => {
    const encoded = encodeKvEventBatch(goldenBatch, { format: 'array' });
    expect(encoded.length).toBe(128);
    expect(toHex(encoded)).toBe(goldenArrayHex);
  });

  it('reproduces the map-form golden bytes', () => {
    const encoded = encodeKvEventBatch(goldenBatch, { format: 'map' });
    expect(encoded.length).toBe(289);
    expect(toHex(encoded)).toBe(goldenMapHex);
  });

  it('decodes with a generic msgpack library, keeping hashes above 2^53 exact', () => {
    const bigHash = 0xfedc_ba98_7654_3210n;
    const batch: KvEventBatch = {
      timestamp: 1700000001.25,
      dataParallelRank: 3,
      events: [
        {
          type: 'BlockStored',
          blockHashes: [bigHash, 5n],
          parentBlockHash: 0x8000_0000_0000_0001n,
          tokenIds: [1, 200, 70_000],
          blockSize: 16,
          loraId: 7,
          medium: 'GPU',
          loraName: 'sql-adapter',
        },
        { type: 'BlockRemoved', blockHashes: [bigHash], medium: 'CPU' },
      ],
    };
    expect(decodeWithBigInts(encodeKvEventBatch(batch, { format: 'array' }))).toEqual([
      1700000001.25,
      [
        [
          'BlockStored',
          [bigHash, 5],
          0x8000_0000_0000_0001n,
          [1, 200, 70_000],
          16,
          7,
          'GPU',
          'sql-adapter',
          null,
          null,
          null,
          null,
        ],
        ['BlockRemoved', [bigHash], 'CPU', null],
      ],
      3,
    ]);
    expect(decodeWithBigInts(encodeKvEventBatch(batch, { format: 'map' }))).toEqual([
      1700000001.25,
      [
        {
          type: 'BlockStored',
          block_hashes: [bigHash, 5],
          parent_block_hash: 0x8000_0000_0000_0001n,
          token_ids: [1, 200, 70_000],
          block_size: 16,
          lora_id: 7,
          medium: 'GPU',
          lora_name: 'sql-adapter',
        },
        { type: 'BlockRemoved', block_hashes: [bigHash], medium: 'CPU' },
      ],
      3,
    ]);
  });

  it('keeps the timestamp float64 even when integral, and writes a null rank as nil', () => {
    const encoded = encodeKvEventBatch(
      { timestamp: 1700000000, events: [{ type: 'AllBlocksCleared' }], dataParallelRank: null },
      { format: 'array' },
    );
    expect(toHex(encoded)).toBe(
      `93cb${toHex(floatBytes(1700000000))}9191b0${asciiHex('AllBlocksCleared')}c0`,
    );
  });

  it('keeps lora_id, medium and lora_name in map form even when null', () => {
    const decoded = decodeWithBigInts(
      encodeKvEventBatch(
        {
          timestamp: 1,
          dataParallelRank: 0,
          events: [
            {
              type: 'BlockStored',
              blockHashes: [],
              parentBlockHash: null,
              tokenIds: [],
              blockSize: 0,
              loraId: null,
              medium: null,
              loraName: null,
              kvCacheSpecSlidingWindow: 4096,
            },
            { type: 'BlockRemoved', blockHashes: [], medium: null },
          ],
        },
        { format: 'map' },
      ),
    ) as [number, Array<Record<string, unknown>>, number];
    expect(Object.keys(decoded[1][0] ?? {})).toEqual([
      'type',
      'block_hashes',
      'parent_block_hash',
      'token_ids',
      'block_size',
      'lora_id',
      'medium',
      'lora_name',
      'kv_cache_spec_sliding_window',
    ]);
    expect(decoded[1][1]).toEqual({ type: 'BlockRemoved', block_hashes: [], medium: null });
  });

  it('writes small hashes in their shortest integer form and signed hashes as their uint64 bits', () => {
    const encoded = encodeKvEventBatch(
      {
        timestamp: 0,
        dataParallelRank: 0,
        events: [{ type: 'BlockRemoved', blockHashes: [5n, 300n, -1n], medium: 'GPU' }],
      },
      { format: 'array' },
    );
    expect(toHex(encoded)).toContain(`93${'05'}cd012ccfffffffffffffffff`);
  });

  it('rejects hashes outside 64 bits and fractional integers', () => {
    const removed = (hash: bigint): KvEventBatch => ({
      timestamp: 0,
      dataParallelRank: 0,
      events: [{ type: 'BlockRemoved', blockHashes: [hash], medium: 'GPU' }],
    });
    expect(() => encodeKvEventBatch(removed(1n << 64n), { format: 'array' })).toThrow(/not a 64-bit value/);
    expect(() => encodeKvEventBatch(removed(-(1n << 63n) - 1n), { format: 'array' })).toThrow(
      /not a 64-bit value/,
    );
    expect(() =>
      encodeKvEventBatch({ timestamp: 0, dataParallelRank: 0.5, events: [] }, { format: 'array' }),
    ).toThrow(/integer expected/);
  });
});

function floatBytes(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setFloat64(0, value);
  return bytes;
}

function asciiHex(text: string): string {
  return Buffer.from(text, 'ascii').toString('hex');
}
