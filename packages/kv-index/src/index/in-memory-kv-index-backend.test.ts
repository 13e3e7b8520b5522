import { describe, expect, it } from 'vitest';
import { InMemoryKvIndexBackend } from './in-memory-kv-index-backend.js';
import type { Holder } from './kv-index-backend.js';
import { checkAgainstReferenceModel } from './kv-index-backend-model-check.js';

const holder = (endpointKey: string, dataParallelRank: number | null = null): Holder => ({
  endpointKey,
  dataParallelRank,
  groupIdx: null,
});
const keys = (...values: number[]) =>
  values.map((value) => BigInt(value) * 0x1_0000_0001n + 0xdead_0000_0000_0000n);
const engine = (...values: number[]) => values.map((value) => BigInt(value) + 0xe000_0000_0000_0000n);
const scoresOf = (result: { scores: ReadonlyMap<string, number> }) => Object.fromEntries(result.scores);

describe('InMemoryKvIndexBackend', () => {
  it('scores the longest consecutive prefix per endpoint', async () => {
    const index = new InMemoryKvIndexBackend();
    await index.storeBlocks({
      holder: holder('a:1'),
      tier: 'gpu',
      requestKeys: keys(1, 2, 3, 4),
      engineKeys: engine(1, 2, 3, 4),
    });
    await index.storeBlocks({
      holder: holder('b:1'),
      tier: 'gpu',
      requestKeys: keys(1, 2),
      engineKeys: engine(1, 2),
    });
    // c holds blocks 1 and 3 but not 2: only its first block counts.
    await index.storeBlocks({
      holder: holder('c:1'),
      tier: 'gpu',
      requestKeys: keys(1, 3),
      engineKeys: engine(1, 3),
    });
    // d holds later blocks only: nothing.
    await index.storeBlocks({
      holder: holder('d:1'),
      tier: 'gpu',
      requestKeys: keys(2, 3),
      engineKeys: engine(2, 3),
    });
    const result = await index.score(keys(1, 2, 3, 4, 5));
    expect(result.totalBlocks).toBe(5);
    expect(scoresOf(result)).toEqual({ 'a:1': 4, 'b:1': 2, 'c:1': 1 });
  });

  it('weights tiers (gpu 1.0, cpu 0.8 by default, configurable) and filters candidates', async () => {
    const index = new InMemoryKvIndexBackend();
    await index.storeBlocks({
      holder: holder('a:1'),
      tier: 'gpu',
      requestKeys: keys(1),
      engineKeys: engine(1),
    });
    await index.storeBlocks({
      holder: holder('a:1'),
      tier: 'cpu',
      requestKeys: keys(1, 2),
      engineKeys: engine(1, 2),
    });
    await index.storeBlocks({
      holder: holder('b:1'),
      tier: 'disk',
      requestKeys: keys(1, 2),
      engineKeys: engine(1, 2),
    });
    expect(scoresOf(await index.score(keys(1, 2)))).toEqual({ 'a:1': 1.8, 'b:1': 2 });
    expect(scoresOf(await index.score(keys(1, 2), { tierWeights: { cpu: 0.5, disk: 0.25 } }))).toEqual({
      'a:1': 1.5,
      'b:1': 0.5,
    });
    expect(scoresOf(await index.score(keys(1, 2), { candidates: ['b:1', 'zzz:1'] }))).toEqual({ 'b:1': 2 });
  });

  it('removes by engine key per holder and tier, keeping other tiers and holders', async () => {
    const index = new InMemoryKvIndexBackend();
    await index.storeBlocks({
      holder: holder('a:1'),
      tier: 'gpu',
      requestKeys: keys(1, 2),
      engineKeys: engine(1, 2),
    });
    await index.storeBlocks({
      holder: holder('a:1'),
      tier: 'cpu',
      requestKeys: keys(2),
      engineKeys: engine(2),
    });
    await index.storeBlocks({
      holder: holder('b:1'),
      tier: 'gpu',
      requestKeys: keys(1, 2),
      engineKeys: engine(1, 2),
    });
    await index.removeBlocks(holder('a:1'), 'gpu', engine(2));
    expect(scoresOf(await index.score(keys(1, 2)))).toEqual({ 'a:1': 1.8, 'b:1': 2 });
    await index.removeBlocks(holder('a:1'), 'cpu', engine(2));
    expect(scoresOf(await index.score(keys(1, 2)))).toEqual({ 'a:1': 1, 'b:1': 2 });
    expect(await index.lookupRequestKeys(holder('a:1'), engine(1, 2))).toEqual([keys(1)[0], undefined]);
    // Unknown engine keys and unknown holders are ignored.
    await index.removeBlocks(holder('a:1'), 'gpu', engine(99));
    await index.removeBlocks(holder('nobody:1'), 'gpu', engine(1));
    expect(await index.endpointStats()).toEqual([
      { endpointKey: 'a:1', blocksByTier: { gpu: 1 } },
      { endpointKey: 'b:1', blocksByTier: { gpu: 2 } },
    ]);
  });

  it('keeps engine keys per holder: the same engine key can map to different request keys', async () => {
    const index = new InMemoryKvIndexBackend();
    await index.storeBlocks({
      holder: holder('a:1'),
      tier: 'gpu',
      requestKeys: keys(1),
      engineKeys: engine(7),
    });
    await index.storeBlocks({
      holder: holder('b:1'),
      tier: 'gpu',
      requestKeys: keys(2),
      engineKeys: engine(7),
    });
    expect(await index.lookupRequestKeys(holder('a:1'), engine(7))).toEqual(keys(1));
    expect(await index.lookupRequestKeys(holder('b:1'), engine(7))).toEqual(keys(2));
  });

  it('clears an endpoint (all ranks or one) without touching others, and is reusable afterwards', async () => {
    const index = new InMemoryKvIndexBackend();
    await index.storeBlocks({
      holder: holder('a:1', 0),
      tier: 'gpu',
      requestKeys: keys(1, 2),
      engineKeys: engine(1, 2),
    });
    await index.storeBlocks({
      holder: holder('a:1', 1),
      tier: 'gpu',
      requestKeys: keys(1),
      engineKeys: engine(1),
    });
    await index.storeBlocks({
      holder: holder('b:1'),
      tier: 'gpu',
      requestKeys: keys(1, 2),
      engineKeys: engine(1, 2),
    });
    await index.clearEndpoint('a:1', 0);
    expect(scoresOf(await index.score(keys(1, 2)))).toEqual({ 'a:1': 1, 'b:1': 2 });
    await index.clearEndpoint('a:1');
    expect(scoresOf(await index.score(keys(1, 2)))).toEqual({ 'b:1': 2 });
    expect(await index.lookupRequestKeys(holder('a:1', 0), engine(1))).toEqual([undefined]);
    await index.storeBlocks({
      holder: holder('a:1', 0),
      tier: 'gpu',
      requestKeys: keys(1),
      engineKeys: engine(1),
    });
    expect(scoresOf(await index.score(keys(1, 2)))).toEqual({ 'a:1': 1, 'b:1': 2 });
    index.sweepAll();
    expect(index.blockCount).toBe(2);
    expect(scoresOf(await index.score(keys(1, 2)))).toEqual({ 'a:1': 1, 'b:1': 2 });
  });

  it('does not let a reused holder id inherit entries that a deletion moved behind the sweep cursor', async () => {
    // Two keys that probe into the same slot of a 1,024-slot table: K2 sits right after K1.
    const slotOf = (low: number) => {
      let hash = Math.imul(low, 0x85ebca6b);
      hash ^= hash >>> 13;
      hash = Math.imul(hash, 0xc2b2ae35);
      hash ^= hash >>> 16;
      return hash & 1023;
    };
    const colliding: bigint[] = [];
    for (let low = 1; colliding.length < 2; low++) if (slotOf(low) === 511) colliding.push(BigInt(low));
    const [first, second] = colliding as [bigint, bigint];
    const index = new InMemoryKvIndexBackend({ initialCapacity: 1024 });
    await index.storeBlocks({
      holder: holder('keep:1'),
      tier: 'gpu',
      requestKeys: [first],
      engineKeys: [1n],
    });
    await index.storeBlocks({
      holder: holder('gone:1'),
      tier: 'gpu',
      requestKeys: [second],
      engineKeys: [2n],
    });
    await index.clearEndpoint('gone:1');
    // The next operation sweeps slots [0, 512), then deletes `first` from slot 511: `second` shifts back
    // into the swept part. It must still be swept before the retired id is reused.
    await index.removeBlocks(holder('keep:1'), 'gpu', [1n]);
    for (let step = 0; step < 8; step++) await index.removeBlocks(holder('keep:1'), 'gpu', []);
    await index.storeBlocks({
      holder: holder('new:1'),
      tier: 'gpu',
      requestKeys: [0xbbbbn],
      engineKeys: [3n],
    });
    expect(scoresOf(await index.score([second]))).toEqual({});
    expect(await index.lookupRequestKeys(holder('new:1'), [2n])).toEqual([undefined]);
    expect(await index.endpointStats()).toEqual([
      { endpointKey: 'keep:1', blocksByTier: {} },
      { endpointKey: 'new:1', blocksByTier: { gpu: 1 } },
    ]);
  });

  it('expires speculative entries unless a real store confirms them', async () => {
    let now = 1_000;
    const index = new InMemoryKvIndexBackend({ now: () => now });
    await index.storeBlocks({
      holder: holder('a:1'),
      tier: 'gpu',
      requestKeys: keys(1, 2),
      engineKeys: null,
      expiresAt: 3_000,
    });
    await index.storeBlocks({
      holder: holder('b:1'),
      tier: 'gpu',
      requestKeys: keys(1, 2),
      engineKeys: null,
      expiresAt: 3_000,
    });
    await index.storeBlocks({
      holder: holder('b:1'),
      tier: 'gpu',
      requestKeys: keys(1),
      engineKeys: engine(1),
    });
    expect(scoresOf(await index.score(keys(1, 2)))).toEqual({ 'a:1': 2, 'b:1': 2 });
    now = 3_000;
    expect(scoresOf(await index.score(keys(1, 2)))).toEqual({ 'b:1': 1 });
  });

  it.each([99, 7, 12345, 424242, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11])(
    'stays consistent with a reference model under random operations (seed %i)',
    async (seed) => {
      // Tiny sweep slices interleave with deletions, which move entries across the sweep cursor.
      const index = new InMemoryKvIndexBackend({ initialCapacity: 16, sweepBudget: 3 });
      await checkAgainstReferenceModel(index, seed, 3000);
      // Shared entry lists are counted exactly: once everything is gone, none is left behind.
      index.sweepAll();
      expect(index.blockCount).toBe(0);
      expect(index.entryListCount).toBe(0);
    },
  );
});
