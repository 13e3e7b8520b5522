import { type KvEventBatch, LlmdError } from '@llmd/core';
import {
  kvEventGoldenArrayHex as goldenArrayHex,
  kvEventGoldenBatch as goldenBatch,
  kvEventGoldenHash as goldenHash,
  kvEventGoldenMapHex as goldenMapHex,
} from '@llmd/core/testing';
import { encodeKvEventBatch } from '@llmd/sim';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeKvEventBatch } from './decode-kv-event-batch.js';
import { KvEventDecodeError } from './kv-event-decode-error.js';

const fromHex = (hex: string): Uint8Array => Buffer.from(hex, 'hex');
// Fixtures for shapes the simulator never emits (short events, bytes hashes, extra fields).
const pack = (value: unknown): Uint8Array => new Packr({ useRecords: false }).pack(value);
const sixteenTokens = Array.from({ length: 16 }, (_, index) => index + 100);

function decodeError(payload: Uint8Array): KvEventDecodeError {
  try {
    decodeKvEventBatch(payload);
  } catch (error) {
    expect(error).toBeInstanceOf(KvEventDecodeError);
    expect(LlmdError.isInstance(error)).toBe(true);
    expect((error as KvEventDecodeError).code).toBe('invalid_argument');
    return error as KvEventDecodeError;
  }
  throw new Error('expected a KvEventDecodeError');
}

describe('decodeKvEventBatch', () => {
  it('decodes the array-form golden bytes', () => {
    const payload = fromHex(goldenArrayHex);
    expect(payload.length).toBe(128);
    expect(decodeKvEventBatch(payload)).toEqual({ batch: goldenBatch, unknownEventTags: [] });
  });

  it('decodes the map-form golden bytes to the same events', () => {
    const payload = fromHex(goldenMapHex);
    expect(payload.length).toBe(289);
    expect(decodeKvEventBatch(payload)).toEqual({ batch: goldenBatch, unknownEventTags: [] });
  });

  it('reads an older 5-field BlockStored and fills the later fields with null', () => {
    const payload = pack([1.5, [['BlockStored', [7, 8], 6, [...sixteenTokens, ...sixteenTokens], 16, 3]], 0]);
    expect(decodeKvEventBatch(payload).batch.events).toEqual([
      {
        type: 'BlockStored',
        blockHashes: [7n, 8n],
        parentBlockHash: 6n,
        tokenIds: [...sixteenTokens, ...sixteenTokens],
        blockSize: 16,
        loraId: 3,
        medium: null,
        loraName: null,
        extraKeys: null,
        groupIdx: null,
        kvCacheSpecKind: null,
        kvCacheSpecSlidingWindow: null,
      },
    ]);
  });

  it('accepts a batch without the rank slot and BlockRemoved without medium', () => {
    const { batch } = decodeKvEventBatch(pack([2, [['BlockRemoved', [9]]]]));
    expect(batch).toEqual({
      timestamp: 2,
      dataParallelRank: null,
      events: [{ type: 'BlockRemoved', blockHashes: [9n], medium: null, groupIdx: null }],
    });
  });

  it('ignores extra trailing fields in arrays and unknown keys in maps', () => {
    const stored = ['BlockStored', [1], null, sixteenTokens, 16, null, 'CPU', 'sql', [null], 1, null, null];
    const payload = pack([
      3,
      [
        [...stored, 'locality-from-the-future', 42],
        ['BlockRemoved', [1], 'CPU', 1, 'locality', { more: true }],
        ['AllBlocksCleared', 'unexpected'],
        { type: 'BlockRemoved', block_hashes: [2], medium: 'GPU', locality: 'rack-1', ownership: 'x' },
      ],
      1,
      'trailing batch field',
    ]);
    const { batch } = decodeKvEventBatch(payload);
    expect(batch.dataParallelRank).toBe(1);
    expect(batch.events).toEqual([
      expect.objectContaining({ type: 'BlockStored', medium: 'CPU', loraName: 'sql', groupIdx: 1 }),
      { type: 'BlockRemoved', blockHashes: [1n], medium: 'CPU', groupIdx: 1 },
      { type: 'AllBlocksCleared' },
      { type: 'BlockRemoved', blockHashes: [2n], medium: 'GPU', groupIdx: null },
    ]);
  });

  it('accepts a map at the batch level', () => {
    const payload = pack({ ts: 4.25, events: [{ type: 'AllBlocksCleared' }], data_parallel_rank: 2, x: 1 });
    expect(decodeKvEventBatch(payload).batch).toEqual({
      timestamp: 4.25,
      dataParallelRank: 2,
      events: [{ type: 'AllBlocksCleared' }],
    });
  });

  it('reduces 32-byte and 16-byte digests to their last 8 bytes', () => {
    const sha256 = fromHex(`${'ab'.repeat(24)}2ceabcfae6d332ea`);
    const xxhash = fromHex(`${'cd'.repeat(8)}00000000000000ff`);
    const payload = pack([0, [['BlockStored', [sha256, xxhash], sha256, [], 16, null, 'GPU', null]], 0]);
    const [event] = decodeKvEventBatch(payload).batch.events;
    expect(event).toMatchObject({ blockHashes: [goldenHash, 255n], parentBlockHash: goldenHash });
  });

  it('reinterprets a signed negative int64 hash as its uint64 pattern', () => {
    // Written by hand to force the signed 0xd3 marker, which the simulator never emits.
    const payload = fromHex(signedHashPayload());
    const [event] = decodeKvEventBatch(payload).batch.events;
    expect(event).toEqual({
      type: 'BlockRemoved',
      blockHashes: [0xffff_ffff_ffff_fffen],
      medium: null,
      groupIdx: null,
    });
  });

  it('keeps hashes above 2^53 exact whether sent as uint64 or as a small int', () => {
    const payload = pack([0, [['BlockRemoved', [0xfedc_ba98_7654_3210n, 5], 'GPU']], 0]);
    expect(decodeKvEventBatch(payload).batch.events[0]).toMatchObject({
      blockHashes: [0xfedc_ba98_7654_3210n, 5n],
    });
  });

  it('keeps a null medium null', () => {
    const payload = pack([0, [{ type: 'BlockRemoved', block_hashes: [1], medium: null }], 0]);
    expect(decodeKvEventBatch(payload).batch.events[0]).toMatchObject({ medium: null });
  });

  it('skips and reports unknown event tags', () => {
    const payload = pack([
      0,
      [['BlockMoved', 1, 2], { type: 'FutureEvent', x: 1 }, ['AllBlocksCleared'], ['BlockMoved']],
      0,
    ]);
    expect(decodeKvEventBatch(payload)).toEqual({
      batch: { timestamp: 0, dataParallelRank: 0, events: [{ type: 'AllBlocksCleared' }] },
      unknownEventTags: ['BlockMoved', 'FutureEvent', 'BlockMoved'],
    });
  });

  it('keeps bare extra keys as one-element tuples', () => {
    const payload = pack([
      0,
      [['BlockStored', [1, 2], null, [], 16, null, 'GPU', null, ['salt', ['lora', 7]]]],
      0,
    ]);
    expect(decodeKvEventBatch(payload).batch.events[0]).toMatchObject({ extraKeys: [['salt'], ['lora', 7]] });
  });

  it('lets sliding-window events carry more tokens than their blocks', () => {
    const tokens = Array.from({ length: 40 }, (_, index) => index);
    const stored = ['BlockStored', [1], null, tokens, 16, null, 'GPU', null, null, 1, 'sliding_window', 32];
    expect(decodeKvEventBatch(pack([0, [stored], 0])).batch.events).toHaveLength(1);
  });

  it('throws KvEventDecodeError for bytes that are not msgpack or not a batch', () => {
    expect(decodeError(new Uint8Array(0)).message).toMatch(/empty/);
    // msgpackr reads the reserved 0xc1 marker as a placeholder object rather than failing.
    expect(decodeError(fromHex('c1')).message).toMatch(/expected an array or a map, got object/);
    expect(decodeError(fromHex('9100')).message).toMatch(/expected \[ts, events, data_parallel_rank\]/);
    expect(decodeError(fromHex('9300900001')).message).toMatch(
      /not valid msgpack.*end of buffer not reached/,
    );
    expect(decodeError(fromHex('93cb41d954fc40200000')).message).toMatch(/not valid msgpack/);
    expect(decodeError(Buffer.from('hello, world')).message).toMatch(/batch|msgpack/);
    expect(decodeError(pack('a string')).message).toMatch(
      /^KV-event batch: expected an array or a map, got the string/,
    );
    expect(decodeError(pack([1])).message).toMatch(/^KV-event batch: expected \[ts, events/);
    expect(decodeError(pack(['now', [], 0])).message).toMatch(/ts: expected a number/);
    expect(decodeError(pack([0, 'events', 0])).message).toMatch(/events: expected a list/);
    expect(decodeError(pack([0, [], -1])).message).toMatch(/data_parallel_rank: expected an integer ≥ 0/);
  });

  it('names the offending field of a malformed event', () => {
    const cases: Array<[unknown, RegExp]> = [
      [7, /events\[0\]: expected an event array or map/],
      [[], /events\[0\]\.type: expected an event tag string/],
      [[3, [1]], /events\[0\]\.type: expected an event tag string/],
      [['BlockStored', [1], null, []], /events\[0\]: BlockStored has 3 fields; at least 4/],
      [{ type: 'BlockStored', token_ids: [], block_size: 16 }, /events\[0\]\.block_hashes: missing required/],
      [['BlockStored', [1, 'x'], null, [], 16], /events\[0\]\.block_hashes\[1\]: expected a block hash/],
      [['BlockStored', [1], null, [1, -2], 16], /events\[0\]\.token_ids\[1\]: expected an integer ≥ 0/],
      [['BlockStored', [1], null, [1.5], 16], /events\[0\]\.token_ids\[0\]: expected an integer/],
      [['BlockStored', [1], null, [], 16, null, 5], /events\[0\]\.medium: expected a string or nil/],
      [['BlockStored', [1], null, [], 'sixteen'], /events\[0\]\.block_size: expected an integer/],
      [['BlockRemoved'], /events\[0\]: BlockRemoved has 0 fields; at least 1/],
      [['BlockRemoved', 5], /events\[0\]\.block_hashes: expected a list of block hashes/],
      [
        ['BlockStored', [1, 2], null, Array.from({ length: 33 }, () => 1), 16],
        /events\[0\]\.token_ids: 33 tokens exceed block_size 16 × 2 block hashes/,
      ],
    ];
    for (const [event, message] of cases) {
      const error = decodeError(pack([0, [event], 0]));
      expect(error.message).toMatch(message);
      expect(error.path).toMatch(/^events\[0\]/);
    }
  });

  it('rejects absurd lengths', () => {
    const hashes = Array.from({ length: 11 }, (_, index) => index);
    expect(() =>
      decodeKvEventBatch(pack([0, [['BlockRemoved', hashes]], 0]), { maxBlockHashesPerEvent: 10 }),
    ).toThrow(/11 block hashes exceed the limit of 10/);
    expect(() =>
      decodeKvEventBatch(pack([0, [['AllBlocksCleared'], ['AllBlocksCleared']], 0]), {
        maxEventsPerBatch: 1,
      }),
    ).toThrow(/2 events exceed the limit of 1/);
    expect(() => decodeKvEventBatch(pack([0, [], 0]), { maxEventsPerBatch: 0 })).toThrow(/positive integers/);
  });

  it('round-trips the simulator encoder in both formats', () => {
    const batch: KvEventBatch = {
      timestamp: 1700000001.25,
      dataParallelRank: 3,
      events: [
        {
          type: 'BlockStored',
          blockHashes: [0xfedc_ba98_7654_3210n, 5n, 0x8000_0000_0000_0000n],
          parentBlockHash: 0x8000_0000_0000_0001n,
          tokenIds: Array.from({ length: 48 }, (_, index) => index * 1000),
          blockSize: 16,
          loraId: 7,
          medium: 'GPU',
          loraName: 'sql-adapter',
          extraKeys: [['sql-adapter'], null, ['sql-adapter', 'salt']],
          groupIdx: 2,
          kvCacheSpecKind: 'full_attention',
          kvCacheSpecSlidingWindow: null,
        },
        {
          type: 'BlockStored',
          blockHashes: [1n],
          parentBlockHash: null,
          tokenIds: [],
          blockSize: 0,
          loraId: null,
          medium: 'CPU',
          loraName: null,
          extraKeys: null,
          groupIdx: null,
          kvCacheSpecKind: null,
          kvCacheSpecSlidingWindow: null,
        },
        { type: 'BlockRemoved', blockHashes: [0xfedc_ba98_7654_3210n], medium: 'CPU', groupIdx: null },
        { type: 'AllBlocksCleared' },
      ],
    };
    for (const format of ['array', 'map'] as const) {
      expect(decodeKvEventBatch(encodeKvEventBatch(batch, { format }))).toEqual({
        batch,
        unknownEventTags: [],
      });
    }
  });
});

function hex(text: string): string {
  return Buffer.from(text, 'ascii').toString('hex');
}

function signedHashPayload(): string {
  // 93 batch(3) · 00 ts · 91 events(1) · 92 event(2) · ac "BlockRemoved"
  // · 91 d3 ff…fe hashes · 00 rank
  return `93009192ac${hex('BlockRemoved')}91d3fffffffffffffffe00`;
}
