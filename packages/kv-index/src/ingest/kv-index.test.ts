import { createBlockHasher, type KvEvent } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { InMemoryKvIndexBackend } from '../index/in-memory-kv-index-backend.js';
import { KvIndex } from './kv-index.js';

const model = 'Qwen/Qwen3-0.6B';
const tokens = Array.from({ length: 64 }, (_, index) => 1000 + index);
const engineHasher = createBlockHasher({ algorithm: 'sha256_cbor', blockSize: 16, seed: '42' });
const engineHashes = engineHasher.hash(tokens);

function stored(
  from: number,
  to: number,
  parent: bigint | null,
  overrides: Partial<Extract<KvEvent, { type: 'BlockStored' }>> = {},
): KvEvent {
  return {
    type: 'BlockStored',
    blockHashes: engineHashes.slice(from, to),
    parentBlockHash: parent,
    tokenIds: tokens.slice(from * 16, to * 16),
    blockSize: 16,
    loraId: null,
    medium: 'GPU',
    loraName: null,
    ...overrides,
  };
}

function createIndex(options: Partial<ConstructorParameters<typeof KvIndex>[0]> = {}) {
  return new KvIndex({
    backend: new InMemoryKvIndexBackend(),
    blockSize: 16,
    engineHashing: { algorithm: 'sha256_cbor', seed: '42' },
    ...options,
  });
}

const batch = (events: KvEvent[], dataParallelRank: number | null = 0) => ({
  timestamp: 0,
  events,
  dataParallelRank,
});

describe('KvIndex', () => {
  it('indexes stored blocks and scores the prompt per endpoint', async () => {
    const index = createIndex();
    await index.ingest({
      endpointKey: '10.0.0.1:8000',
      modelName: model,
      batch: batch([stored(0, 4, null)]),
    });
    await index.ingest({
      endpointKey: '10.0.0.2:8000',
      modelName: model,
      batch: batch([stored(0, 2, null)]),
    });
    const result = await index.scoreTokens(tokens, model);
    expect(result).toEqual({
      blockSize: 16,
      totalBlocks: 4,
      scores: { '10.0.0.1:8000': 4, '10.0.0.2:8000': 2 },
    });
    expect(index.counters.engineHashMismatches).toBe(0);
    expect(index.counters.engineHashChecks).toBe(2);
  });

  it('chains continuations through the parent engine key', async () => {
    const index = createIndex();
    await index.ingest({
      endpointKey: 'a:1',
      modelName: model,
      batch: batch([stored(0, 2, null), stored(2, 4, engineHashes[1] as bigint)]),
    });
    expect((await index.scoreTokens(tokens, model)).scores).toEqual({ 'a:1': 4 });
  });

  it('does not drop an event whose parent is unknown: it is stitched when the parent arrives', async () => {
    const index = createIndex();
    await index.ingest({
      endpointKey: 'a:1',
      modelName: model,
      batch: batch([stored(2, 4, engineHashes[1] as bigint)]),
    });
    expect(index.pendingEvents).toBe(1);
    expect((await index.scoreTokens(tokens, model)).scores).toEqual({});
    await index.ingest({ endpointKey: 'a:1', modelName: model, batch: batch([stored(0, 2, null)]) });
    expect(index.pendingEvents).toBe(0);
    expect(index.counters.stitchedEvents).toBe(1);
    expect((await index.scoreTokens(tokens, model)).scores).toEqual({ 'a:1': 4 });
  });

  it('bounds store-only tiers by capacity per endpoint, oldest first, and keeps TTL expiry working', async () => {
    let now = 0;
    const clock = () => now;
    const index = createIndex({
      now: clock,
      backend: new InMemoryKvIndexBackend({ now: clock }),
      storeOnlyTiers: { cpu: { maxBlocks: 4 }, disk: { ttlMilliseconds: 1000 } },
    });
    const other = Array.from({ length: 64 }, (_, position) => 5000 + position);
    const otherHashes = engineHasher.hash(other);
    await index.ingest({
      endpointKey: 'a:1',
      modelName: model,
      batch: batch([stored(0, 4, null, { medium: 'CPU' })]),
    });
    await index.ingest({
      endpointKey: 'a:1',
      modelName: model,
      batch: batch([stored(0, 4, null, { medium: 'CPU', blockHashes: otherHashes, tokenIds: other })]),
    });
    // Capacity 4: the first prompt's 4 CPU blocks were evicted when the second's arrived.
    expect((await index.scoreTokens(tokens, model)).scores).toEqual({});
    expect((await index.scoreTokens(other, model)).scores['a:1']).toBeCloseTo(3.2);
    // A capacity-only tier does not hold up TTL expiry of another tier.
    await index.ingest({
      endpointKey: 'b:1',
      modelName: model,
      batch: batch([stored(0, 4, null, { medium: 'DISK' })]),
    });
    expect((await index.scoreTokens(tokens, model)).scores).toEqual({ 'b:1': 4 });
    now = 1500;
    expect((await index.scoreTokens(tokens, model)).scores).toEqual({});
  });

  it('expires parked events whose parent never arrives, so they cannot fill the pending set', async () => {
    let now = 0;
    const index = createIndex({
      now: () => now,
      maxPendingEvents: 2,
      pendingParentTimeoutMilliseconds: 1000,
    });
    const orphan = stored(2, 4, 123n);
    await index.ingest({ endpointKey: 'a:1', modelName: model, batch: batch([orphan, orphan]) });
    expect(index.pendingEvents).toBe(2);
    now = 5000;
    // The stale orphans are gone; a real out-of-order child can park and be stitched.
    await index.ingest({
      endpointKey: 'b:1',
      modelName: model,
      batch: batch([stored(2, 4, engineHashes[1] as bigint)]),
    });
    expect(index.pendingEvents).toBe(1);
    expect(index.counters.orphanedEvents).toBe(2);
    await index.ingest({ endpointKey: 'b:1', modelName: model, batch: batch([stored(0, 2, null)]) });
    expect((await index.scoreTokens(tokens, model)).scores).toEqual({ 'b:1': 4 });
  });

  it('removes every index block of an engine block larger than the index block', async () => {
    const index = createIndex({ blockSize: 8 });
    await index.ingest({ endpointKey: 'a:1', modelName: model, batch: batch([stored(0, 4, null)]) });
    expect((await index.scoreTokens(tokens, model)).scores).toEqual({ 'a:1': 8 });
    await index.ingest({
      endpointKey: 'a:1',
      modelName: model,
      batch: batch([{ type: 'BlockRemoved', blockHashes: engineHashes.slice(0, 4), medium: 'GPU' }]),
    });
    expect((await index.scoreTokens(tokens, model)).scores).toEqual({});
  });

  it('drops parked events of an endpoint when it is cleared, keeping other endpoints and ranks', async () => {
    const index = createIndex();
    const orphan = stored(2, 4, engineHashes[1] as bigint);
    await index.ingest({ endpointKey: 'a:1', modelName: model, batch: batch([orphan], 0) });
    await index.ingest({ endpointKey: 'a:1', modelName: model, batch: batch([orphan], 1) });
    await index.ingest({ endpointKey: 'b:1', modelName: model, batch: batch([orphan], 0) });
    expect(index.pendingEvents).toBe(3);
    await index.clearEndpoint('a:1', 0);
    expect(index.pendingEvents).toBe(2);
    await index.clearEndpoint('a:1');
    expect(index.pendingEvents).toBe(1);
    await index.ingest({ endpointKey: 'b:1', modelName: model, batch: batch([stored(0, 2, null)], 0) });
    expect((await index.scoreTokens(tokens, model)).scores).toEqual({ 'b:1': 4 });
  });

  it('follows BlockRemoved and AllBlocksCleared', async () => {
    const index = createIndex();
    await index.ingest({ endpointKey: 'a:1', modelName: model, batch: batch([stored(0, 4, null)]) });
    await index.ingest({
      endpointKey: 'a:1',
      modelName: model,
      batch: batch([{ type: 'BlockRemoved', blockHashes: [engineHashes[2] as bigint], medium: 'GPU' }]),
    });
    expect((await index.scoreTokens(tokens, model)).scores).toEqual({ 'a:1': 2 });
    await index.ingest({
      endpointKey: 'a:1',
      modelName: model,
      batch: batch([{ type: 'AllBlocksCleared' }]),
    });
    expect((await index.scoreTokens(tokens, model)).scores).toEqual({});
  });

  it('maps token-less offload events to known blocks and weights the CPU tier', async () => {
    const index = createIndex();
    await index.ingest({ endpointKey: 'a:1', modelName: model, batch: batch([stored(0, 4, null)]) });
    await index.ingest({
      endpointKey: 'a:1',
      modelName: model,
      batch: batch([
        {
          type: 'BlockStored',
          blockHashes: engineHashes.slice(0, 4),
          parentBlockHash: null,
          tokenIds: [],
          blockSize: 16,
          loraId: null,
          medium: 'CPU',
          loraName: null,
        },
        { type: 'BlockRemoved', blockHashes: engineHashes.slice(2, 4), medium: 'GPU' },
      ]),
    });
    expect((await index.scoreTokens(tokens, model)).scores['a:1']).toBeCloseTo(3.6);
    expect(index.counters.tokenlessUnknownBlocks).toBe(0);
  });

  it('scores LoRA blocks for the adapter name only', async () => {
    const loraHashes = createBlockHasher({
      algorithm: 'sha256_cbor',
      blockSize: 16,
      seed: '42',
      loraName: 'Alice',
    }).hash(tokens);
    const index = createIndex();
    await index.ingest({
      endpointKey: 'a:1',
      modelName: model,
      batch: batch([stored(0, 4, null, { blockHashes: loraHashes, loraName: 'Alice' })]),
    });
    expect((await index.scoreTokens(tokens, 'Alice')).scores).toEqual({ 'a:1': 4 });
    expect((await index.scoreTokens(tokens, model)).scores).toEqual({});
    expect(index.counters.engineHashMismatches).toBe(0);
  });

  it('reports a seed / algorithm mismatch but still indexes by tokens', async () => {
    const warnings: unknown[] = [];
    const logger = {
      trace() {},
      debug() {},
      info() {},
      warn: (fields: unknown) => warnings.push(fields),
      error() {},
      child: () => logger,
    };
    const index = createIndex({ engineHashing: { algorithm: 'sha256_cbor', seed: '7' }, logger });
    await index.ingest({ endpointKey: 'a:1', modelName: model, batch: batch([stored(0, 4, null)]) });
    await index.ingest({ endpointKey: 'a:1', modelName: model, batch: batch([stored(0, 2, null)]) });
    expect(index.counters.engineHashMismatches).toBe(2);
    expect(warnings).toHaveLength(1); // at most once a minute per endpoint
    expect((await index.scoreTokens(tokens, model)).scores).toEqual({ 'a:1': 4 });
  });

  it('keeps data-parallel ranks apart and clears one rank', async () => {
    const index = createIndex();
    await index.ingest({ endpointKey: 'a:1', modelName: model, batch: batch([stored(0, 4, null)], 0) });
    await index.ingest({ endpointKey: 'a:1', modelName: model, batch: batch([stored(0, 2, null)], 1) });
    await index.ingest({
      endpointKey: 'a:1',
      modelName: model,
      batch: batch([{ type: 'AllBlocksCleared' }], 0),
    });
    expect((await index.scoreTokens(tokens, model)).scores).toEqual({ 'a:1': 2 });
  });

  it('skips non-full-attention groups and mismatched block sizes', async () => {
    const index = createIndex();
    await index.ingest({
      endpointKey: 'a:1',
      modelName: model,
      batch: batch([stored(0, 4, null, { groupIdx: 1, kvCacheSpecKind: 'sliding_window' })]),
    });
    expect(index.counters.skippedGroupEvents).toBe(1);
    const coarse = createIndex({ blockSize: 64 });
    await coarse.ingest({ endpointKey: 'a:1', modelName: model, batch: batch([stored(0, 4, null)]) });
    expect(coarse.counters.blockSizeMismatches).toBe(1);
  });

  it('indexes engine blocks that are multiples of the index block', async () => {
    const index = createIndex({ blockSize: 8 });
    await index.ingest({
      endpointKey: 'a:1',
      modelName: model,
      batch: batch([stored(0, 2, null), stored(2, 4, engineHashes[1] as bigint)]),
    });
    expect((await index.scoreTokens(tokens, model)).scores).toEqual({ 'a:1': 8 });
  });

  it('speculative entries count until their TTL, and bound store-only tiers', async () => {
    let now = 0;
    const clock = () => now;
    const index = createIndex({
      now: clock,
      backend: new InMemoryKvIndexBackend({ now: clock }),
      storeOnlyTiers: { cpu: { ttlMilliseconds: 1000 } },
    });
    await index.speculate('b:1', model, tokens, 500);
    expect((await index.scoreTokens(tokens, model)).scores).toEqual({ 'b:1': 4 });
    now = 600;
    expect((await index.scoreTokens(tokens, model)).scores).toEqual({});
    await index.ingest({
      endpointKey: 'a:1',
      modelName: model,
      batch: batch([stored(0, 4, null, { medium: 'CPU' })]),
    });
    expect((await index.scoreTokens(tokens, model)).scores['a:1']).toBeCloseTo(3.2);
    now = 1700;
    expect((await index.scoreTokens(tokens, model)).scores).toEqual({});
  });
});
