import { LlmdError } from '@llmd/core';
import { findRedisServerBinary, type RedisServerForTests, startRedisServer } from '@llmd/core/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Holder, KvIndexBackend, PrefixScores } from '../kv-index-backend.js';
import { checkAgainstReferenceModel } from '../kv-index-backend-model-check.js';
import { createRedisKvIndexBackend, type RedisKvIndexBackendOptions } from './redis-kv-index-backend.js';

const redisServerBinary = findRedisServerBinary();
const suiteName =
  redisServerBinary === undefined
    ? 'redis kv index backend (SKIPPED: redis-server is not on PATH; install the redis-server package to run it)'
    : 'redis kv index backend (real redis-server)';

function holder(
  endpointKey: string,
  dataParallelRank: number | null = 0,
  groupIdx: number | null = null,
): Holder {
  return { endpointKey, dataParallelRank, groupIdx };
}

/** Request keys of one prompt: k(0), k(1), … (large values, to exercise 64-bit decimal keys). */
function k(index: number): bigint {
  return 0xfedc_ba98_0000_0000n + BigInt(index);
}

function requestKeys(from: number, to: number): bigint[] {
  return Array.from({ length: to - from }, (_, offset) => k(from + offset));
}

/** Engine keys, distinct from request keys. */
function e(index: number): bigint {
  return 9_000n + BigInt(index);
}

function engineKeys(from: number, to: number): bigint[] {
  return Array.from({ length: to - from }, (_, offset) => e(from + offset));
}

function scoresOf(result: PrefixScores): Record<string, number> {
  return Object.fromEntries(
    [...result.scores].map(([endpoint, score]) => [endpoint, Math.round(score * 1000) / 1000]),
  );
}

async function errorCodeOf(action: Promise<unknown>): Promise<string | undefined> {
  try {
    await action;
    return undefined;
  } catch (error) {
    return LlmdError.isInstance(error) ? error.code : `not an LlmdError: ${String(error)}`;
  }
}

describe.skipIf(redisServerBinary === undefined)(suiteName, () => {
  let server: RedisServerForTests | undefined;
  let admin: Redis | undefined;
  let clock = 1_000_000;
  const opened: KvIndexBackend[] = [];

  function redisUrl(): string {
    if (!server) throw new Error('redis-server did not start');
    return server.url;
  }

  function adminClient(): Redis {
    if (!admin) throw new Error('redis-server did not start');
    return admin;
  }

  async function open(overrides: Partial<RedisKvIndexBackendOptions> = {}): Promise<KvIndexBackend> {
    const backend = await createRedisKvIndexBackend({ url: redisUrl(), now: () => clock, ...overrides });
    opened.push(backend);
    return backend;
  }

  beforeAll(async () => {
    server = await startRedisServer({ binary: redisServerBinary });
    admin = new Redis(server.url);
  }, 40_000);

  afterAll(async () => {
    await admin?.quit();
    await server?.stop();
  });

  beforeEach(async () => {
    await adminClient().flushall();
    clock = 1_000_000;
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((backend) => backend.close()));
  });

  it('scores the longest prefix per endpoint with tier weights (max over tiers per block)', async () => {
    const index = await open();
    await index.storeBlocks({
      holder: holder('a:1'),
      tier: 'gpu',
      requestKeys: requestKeys(0, 4),
      engineKeys: null,
    });
    await index.storeBlocks({
      holder: holder('b:1'),
      tier: 'cpu',
      requestKeys: requestKeys(0, 3),
      engineKeys: null,
    });
    await index.storeBlocks({
      holder: holder('c:1'),
      tier: 'gpu',
      requestKeys: requestKeys(0, 1),
      engineKeys: null,
    });
    await index.storeBlocks({
      holder: holder('c:1'),
      tier: 'cpu',
      requestKeys: requestKeys(0, 2),
      engineKeys: null,
    });
    await index.storeBlocks({
      holder: holder('d:1'),
      tier: 'disk',
      requestKeys: requestKeys(0, 2),
      engineKeys: null,
    });

    const result = await index.score(requestKeys(0, 5));
    expect(result.totalBlocks).toBe(5);
    expect(scoresOf(result)).toEqual({ 'a:1': 4, 'b:1': 2.4, 'c:1': 1.8, 'd:1': 2 });

    const weighted = await index.score(requestKeys(0, 5), { tierWeights: { gpu: 2, cpu: 0.5, disk: 0.25 } });
    expect(scoresOf(weighted)).toEqual({ 'a:1': 8, 'b:1': 1.5, 'c:1': 2.5, 'd:1': 0.5 });

    expect((await index.score([])).scores.size).toBe(0);
    expect((await index.score([k(99)])).scores.size).toBe(0);
  });

  it('scores only the candidates when given', async () => {
    const index = await open();
    for (const endpointKey of ['a:1', 'b:1', 'c:1']) {
      await index.storeBlocks({
        holder: holder(endpointKey),
        tier: 'gpu',
        requestKeys: requestKeys(0, 2),
        engineKeys: null,
      });
    }
    expect(scoresOf(await index.score(requestKeys(0, 2), { candidates: ['b:1', 'c:1', 'z:9'] }))).toEqual({
      'b:1': 2,
      'c:1': 2,
    });
    expect((await index.score(requestKeys(0, 2), { candidates: [] })).scores.size).toBe(0);
    expect((await index.score(requestKeys(0, 2), { candidates: ['z:9'] })).scores.size).toBe(0);
  });

  it('counts only consecutive blocks from block 0, per holder (a gap stops an endpoint)', async () => {
    const index = await open();
    await index.storeBlocks({
      holder: holder('a:1'),
      tier: 'gpu',
      requestKeys: [k(0), k(1), k(3)],
      engineKeys: null,
    });
    // b holds later blocks only: it has no leading block, so it is absent.
    await index.storeBlocks({
      holder: holder('b:1'),
      tier: 'gpu',
      requestKeys: [k(1), k(2)],
      engineKeys: null,
    });
    // Two ranks of one endpoint: the prefix is not cached by either rank beyond block 1.
    await index.storeBlocks({
      holder: holder('e:1', 0),
      tier: 'gpu',
      requestKeys: [k(0), k(1)],
      engineKeys: null,
    });
    await index.storeBlocks({
      holder: holder('e:1', 1),
      tier: 'gpu',
      requestKeys: [k(0), k(2), k(3)],
      engineKeys: null,
    });
    expect(scoresOf(await index.score(requestKeys(0, 4)))).toEqual({ 'a:1': 2, 'e:1': 2 });
  });

  it('removeBlocks drops only that holder and tier; the mapping lives while another tier holds the block', async () => {
    const index = await open();
    const a = holder('a:1');
    const b = holder('b:1');
    await index.storeBlocks({
      holder: a,
      tier: 'gpu',
      requestKeys: requestKeys(0, 3),
      engineKeys: engineKeys(0, 3),
    });
    await index.storeBlocks({
      holder: a,
      tier: 'cpu',
      requestKeys: requestKeys(0, 3),
      engineKeys: engineKeys(0, 3),
    });
    await index.storeBlocks({
      holder: b,
      tier: 'gpu',
      requestKeys: requestKeys(0, 3),
      engineKeys: engineKeys(0, 3),
    });

    await index.removeBlocks(a, 'gpu', [e(1)]);
    expect(scoresOf(await index.score(requestKeys(0, 3)))).toEqual({ 'a:1': 2.8, 'b:1': 3 });
    expect(await index.lookupRequestKeys(a, [e(1)])).toEqual([k(1)]);

    await index.removeBlocks(a, 'cpu', [e(1)]);
    expect(scoresOf(await index.score(requestKeys(0, 3)))).toEqual({ 'a:1': 1, 'b:1': 3 });
    expect(await index.lookupRequestKeys(a, [e(0), e(1), e(2)])).toEqual([k(0), undefined, k(2)]);
    expect(await index.lookupRequestKeys(b, [e(1)])).toEqual([k(1)]);

    // Unknown engine keys and empty lists are ignored.
    await index.removeBlocks(a, 'gpu', [e(77)]);
    await index.removeBlocks(a, 'gpu', []);
    await index.removeBlocks(holder('nobody:1'), 'gpu', [e(0)]);
    expect(await index.endpointStats()).toEqual([
      { endpointKey: 'a:1', blocksByTier: { gpu: 2, cpu: 2 } },
      { endpointKey: 'b:1', blocksByTier: { gpu: 3 } },
    ]);
  });

  it('keeps engine → request mappings per holder', async () => {
    const index = await open();
    // Two engines serving different models publish the same engine key for different blocks.
    await index.storeBlocks({ holder: holder('a:1'), tier: 'gpu', requestKeys: [k(0)], engineKeys: [e(0)] });
    await index.storeBlocks({ holder: holder('b:1'), tier: 'gpu', requestKeys: [k(50)], engineKeys: [e(0)] });
    expect(await index.lookupRequestKeys(holder('a:1'), [e(0), e(7)])).toEqual([k(0), undefined]);
    expect(await index.lookupRequestKeys(holder('b:1'), [e(0)])).toEqual([k(50)]);
    expect(await index.lookupRequestKeys(holder('a:1', 1), [e(0)])).toEqual([undefined]);
    expect(await index.lookupRequestKeys(holder('a:1', 0, 1), [e(0)])).toEqual([undefined]);
    expect(await index.lookupRequestKeys(holder('a:1'), [])).toEqual([]);

    // An engine block covering two of our blocks: continuations chain from the last, removal drops both.
    await index.storeBlocks({
      holder: holder('c:1'),
      tier: 'gpu',
      requestKeys: [k(0), k(1)],
      engineKeys: [e(5), e(5)],
    });
    expect(await index.lookupRequestKeys(holder('c:1'), [e(5)])).toEqual([k(1)]);
    expect(scoresOf(await index.score(requestKeys(0, 2), { candidates: ['c:1'] }))).toEqual({ 'c:1': 2 });
    await index.removeBlocks(holder('c:1'), 'gpu', [e(5)]);
    expect((await index.score(requestKeys(0, 2), { candidates: ['c:1'] })).scores.size).toBe(0);
    expect(await index.lookupRequestKeys(holder('c:1'), [e(5)])).toEqual([undefined]);
  });

  it('clearEndpoint without a rank forgets every rank in O(1), and later stores work', async () => {
    const index = await open();
    const prefix = 'llmd:kv:';
    await index.storeBlocks({
      holder: holder('a:1', 0),
      tier: 'gpu',
      requestKeys: requestKeys(0, 3),
      engineKeys: engineKeys(0, 3),
    });
    await index.storeBlocks({
      holder: holder('a:1', 1),
      tier: 'cpu',
      requestKeys: requestKeys(0, 4),
      engineKeys: engineKeys(0, 4),
    });
    await index.storeBlocks({
      holder: holder('b:1', 0),
      tier: 'gpu',
      requestKeys: requestKeys(0, 2),
      engineKeys: null,
    });

    await index.clearEndpoint('a:1');
    expect(scoresOf(await index.score(requestKeys(0, 4)))).toEqual({ 'b:1': 2 });
    expect(await index.lookupRequestKeys(holder('a:1', 0), [e(0)])).toEqual([undefined]);
    expect(await index.endpointStats()).toEqual([{ endpointKey: 'b:1', blocksByTier: { gpu: 2 } }]);

    // The stale entries met by the score above are deleted lazily, in the background.
    await vi.waitFor(async () => {
      const fields = await adminClient().hkeys(`${prefix}rk:${k(0)}`);
      expect(fields.filter((field) => field.startsWith('a:1|'))).toEqual([]);
    });

    // A new store after the clear counts from scratch: the old entries of blocks 1 and 2 stay dead.
    await index.storeBlocks({
      holder: holder('a:1', 0),
      tier: 'gpu',
      requestKeys: [k(0)],
      engineKeys: [e(0)],
    });
    expect(scoresOf(await index.score(requestKeys(0, 4)))).toEqual({ 'a:1': 1, 'b:1': 2 });
    expect(await index.lookupRequestKeys(holder('a:1', 0), [e(0), e(1)])).toEqual([k(0), undefined]);
    // Removing a block stored before the clear neither resurrects nor under-counts anything.
    await index.removeBlocks(holder('a:1', 0), 'gpu', [e(1), e(2)]);
    await index.removeBlocks(holder('a:1', 1), 'cpu', [e(1)]);
    expect(await index.endpointStats()).toEqual([
      { endpointKey: 'a:1', blocksByTier: { gpu: 1 } },
      { endpointKey: 'b:1', blocksByTier: { gpu: 2 } },
    ]);
    await index.storeBlocks({
      holder: holder('a:1', 0),
      tier: 'gpu',
      requestKeys: requestKeys(0, 4),
      engineKeys: engineKeys(0, 4),
    });
    expect(scoresOf(await index.score(requestKeys(0, 4)))).toEqual({ 'a:1': 4, 'b:1': 2 });
    expect(await index.endpointStats()).toEqual([
      { endpointKey: 'a:1', blocksByTier: { gpu: 4 } },
      { endpointKey: 'b:1', blocksByTier: { gpu: 2 } },
    ]);
  });

  it('clearEndpoint with a rank clears only that rank (null: only the rank-less holders)', async () => {
    const index = await open();
    await index.storeBlocks({
      holder: holder('a:1', 0),
      tier: 'gpu',
      requestKeys: requestKeys(0, 3),
      engineKeys: engineKeys(0, 3),
    });
    await index.storeBlocks({
      holder: holder('a:1', 1),
      tier: 'gpu',
      requestKeys: requestKeys(0, 4),
      engineKeys: engineKeys(0, 4),
    });
    await index.storeBlocks({
      holder: holder('a:1', 1, 1),
      tier: 'gpu',
      requestKeys: requestKeys(0, 1),
      engineKeys: null,
    });

    await index.clearEndpoint('a:1', 1);
    expect(scoresOf(await index.score(requestKeys(0, 4)))).toEqual({ 'a:1': 3 });
    expect(await index.lookupRequestKeys(holder('a:1', 1), [e(0)])).toEqual([undefined]);
    expect(await index.lookupRequestKeys(holder('a:1', 0), [e(0)])).toEqual([k(0)]);
    expect(await index.endpointStats()).toEqual([{ endpointKey: 'a:1', blocksByTier: { gpu: 3 } }]);

    await index.storeBlocks({
      holder: holder('a:1', 1),
      tier: 'gpu',
      requestKeys: requestKeys(0, 5),
      engineKeys: null,
    });
    expect(scoresOf(await index.score(requestKeys(0, 5)))).toEqual({ 'a:1': 5 });

    await index.storeBlocks({
      holder: holder('n:1', null),
      tier: 'gpu',
      requestKeys: requestKeys(0, 2),
      engineKeys: null,
    });
    await index.storeBlocks({
      holder: holder('n:1', 0),
      tier: 'gpu',
      requestKeys: requestKeys(0, 1),
      engineKeys: null,
    });
    await index.clearEndpoint('n:1', null);
    expect(scoresOf(await index.score(requestKeys(0, 5), { candidates: ['n:1'] }))).toEqual({ 'n:1': 1 });
  });

  it('treats a lost generation hash (e.g. evicted) as a clear, never as a resurrection', async () => {
    const index = await open();
    await index.storeBlocks({
      holder: holder('a:1'),
      tier: 'gpu',
      requestKeys: requestKeys(0, 3),
      engineKeys: engineKeys(0, 3),
    });
    await index.clearEndpoint('a:1');
    await index.storeBlocks({
      holder: holder('a:1'),
      tier: 'gpu',
      requestKeys: requestKeys(0, 1),
      engineKeys: null,
    });
    await adminClient().del('llmd:kv:gen:a:1');
    expect((await index.score(requestKeys(0, 3))).scores.size).toBe(0);
    expect(await index.lookupRequestKeys(holder('a:1'), [e(0)])).toEqual([undefined]);
    await index.clearEndpoint('a:1', 0);
    await index.clearEndpoint('a:1');
    await index.storeBlocks({
      holder: holder('a:1'),
      tier: 'gpu',
      requestKeys: requestKeys(0, 1),
      engineKeys: null,
    });
    expect(scoresOf(await index.score(requestKeys(0, 3)))).toEqual({ 'a:1': 1 });
  });

  it('speculative entries count until they expire, never downgrade confirmed ones, and are confirmed by stores', async () => {
    const index = await open();
    await index.storeBlocks({
      holder: holder('s:1'),
      tier: 'gpu',
      requestKeys: requestKeys(0, 3),
      engineKeys: null,
      expiresAt: clock + 2000,
    });
    expect(scoresOf(await index.score(requestKeys(0, 3)))).toEqual({ 's:1': 3 });
    // Speculative entries are not counted as held blocks (they would need a decrement on expiry).
    expect(await index.endpointStats()).toEqual([{ endpointKey: 's:1', blocksByTier: {} }]);
    clock += 2000;
    expect((await index.score(requestKeys(0, 3))).scores.size).toBe(0);

    // Seeding blocks already held does not make them expire.
    await index.storeBlocks({
      holder: holder('a:1'),
      tier: 'gpu',
      requestKeys: requestKeys(0, 2),
      engineKeys: null,
    });
    await index.storeBlocks({
      holder: holder('a:1'),
      tier: 'gpu',
      requestKeys: requestKeys(0, 4),
      engineKeys: null,
      expiresAt: clock + 1000,
    });
    expect(scoresOf(await index.score(requestKeys(0, 4)))).toEqual({ 'a:1': 4 });
    clock += 1000;
    expect(scoresOf(await index.score(requestKeys(0, 4)))).toEqual({ 'a:1': 2 });

    // A real store confirms a speculative entry; a later seed extends, never shortens, the expiry.
    await index.storeBlocks({
      holder: holder('b:1'),
      tier: 'gpu',
      requestKeys: requestKeys(0, 2),
      engineKeys: null,
      expiresAt: clock + 500,
    });
    await index.storeBlocks({ holder: holder('b:1'), tier: 'gpu', requestKeys: [k(0)], engineKeys: [e(0)] });
    await index.storeBlocks({
      holder: holder('c:1'),
      tier: 'gpu',
      requestKeys: [k(0)],
      engineKeys: null,
      expiresAt: clock + 5000,
    });
    await index.storeBlocks({
      holder: holder('c:1'),
      tier: 'gpu',
      requestKeys: [k(0)],
      engineKeys: null,
      expiresAt: clock + 100,
    });
    // Already expired when stored: ignored.
    await index.storeBlocks({
      holder: holder('d:1'),
      tier: 'gpu',
      requestKeys: [k(0)],
      engineKeys: null,
      expiresAt: clock - 1,
    });
    clock += 1000;
    expect(scoresOf(await index.score(requestKeys(0, 4)))).toEqual({ 'a:1': 2, 'b:1': 1, 'c:1': 1 });
    expect(await index.endpointStats()).toEqual([
      { endpointKey: 'a:1', blocksByTier: { gpu: 2 } },
      { endpointKey: 'b:1', blocksByTier: { gpu: 1 } },
      { endpointKey: 'c:1', blocksByTier: {} },
      { endpointKey: 's:1', blocksByTier: {} },
    ]);
  });

  it.each([99, 7, 12345])(
    'stays consistent with the same reference model as the in-memory backend (seed %i)',
    async (seed) => {
      await checkAgainstReferenceModel(await open(), seed, 600);
    },
    60_000,
  );

  it('accepts valkey:// URLs (rewritten to redis://)', async () => {
    const valkey = await open({ url: redisUrl().replace(/^redis:/, 'valkey:') });
    const plain = await open();
    await valkey.storeBlocks({
      holder: holder('a:1'),
      tier: 'gpu',
      requestKeys: requestKeys(0, 2),
      engineKeys: null,
    });
    expect(scoresOf(await plain.score(requestKeys(0, 2)))).toEqual({ 'a:1': 2 });
  });

  it('replicas sharing one Redis see the same index, also under concurrent writes (active-active)', async () => {
    const first = await open();
    const second = await open();
    await first.storeBlocks({
      holder: holder('a:1'),
      tier: 'gpu',
      requestKeys: requestKeys(0, 3),
      engineKeys: engineKeys(0, 3),
    });
    await second.storeBlocks({
      holder: holder('b:1'),
      tier: 'cpu',
      requestKeys: requestKeys(0, 2),
      engineKeys: null,
    });
    expect(scoresOf(await first.score(requestKeys(0, 3)))).toEqual({ 'a:1': 3, 'b:1': 1.6 });
    expect(scoresOf(await second.score(requestKeys(0, 3)))).toEqual({ 'a:1': 3, 'b:1': 1.6 });
    expect(await second.lookupRequestKeys(holder('a:1'), [e(2)])).toEqual([k(2)]);
    await second.clearEndpoint('a:1');
    expect(scoresOf(await first.score(requestKeys(0, 3)))).toEqual({ 'b:1': 1.6 });

    // Both replicas ingest the same events for c (duplicated delivery) concurrently, in chunks.
    const c = holder('c:1');
    const writes: Promise<void>[] = [];
    for (let chunk = 0; chunk < 10; chunk++) {
      for (const replica of [first, second]) {
        writes.push(
          replica.storeBlocks({
            holder: c,
            tier: 'gpu',
            requestKeys: requestKeys(chunk * 10, chunk * 10 + 10),
            engineKeys: engineKeys(chunk * 10, chunk * 10 + 10),
          }),
        );
      }
    }
    await Promise.all(writes);
    expect(scoresOf(await first.score(requestKeys(0, 100), { candidates: ['c:1'] }))).toEqual({ 'c:1': 100 });
    expect((await second.endpointStats()).find((stats) => stats.endpointKey === 'c:1')).toEqual({
      endpointKey: 'c:1',
      blocksByTier: { gpu: 100 },
    });
    await Promise.all(
      [first, second].flatMap((replica) => [
        replica.removeBlocks(c, 'gpu', engineKeys(0, 60)),
        replica.removeBlocks(c, 'gpu', engineKeys(40, 100)),
      ]),
    );
    expect((await first.endpointStats()).find((stats) => stats.endpointKey === 'c:1')).toEqual({
      endpointKey: 'c:1',
      blocksByTier: {},
    });
    expect((await first.score(requestKeys(0, 100), { candidates: ['c:1'] })).scores.size).toBe(0);
  });

  it('endpointStats counts blocks per tier and endpoint, never negative', async () => {
    const index = await open();
    await index.storeBlocks({
      holder: holder('a:1', 0),
      tier: 'gpu',
      requestKeys: requestKeys(0, 3),
      engineKeys: engineKeys(0, 3),
    });
    await index.storeBlocks({
      holder: holder('a:1', 0),
      tier: 'gpu',
      requestKeys: requestKeys(0, 3),
      engineKeys: engineKeys(0, 3),
    });
    await index.storeBlocks({
      holder: holder('a:1', 0),
      tier: 'cpu',
      requestKeys: requestKeys(0, 2),
      engineKeys: engineKeys(0, 2),
    });
    await index.storeBlocks({
      holder: holder('a:1', 1),
      tier: 'gpu',
      requestKeys: requestKeys(5, 6),
      engineKeys: null,
    });
    await index.storeBlocks({ holder: holder('b:1'), tier: 'disk', requestKeys: [k(9)], engineKeys: [e(9)] });
    expect(await index.endpointStats()).toEqual([
      { endpointKey: 'a:1', blocksByTier: { gpu: 4, cpu: 2 } },
      { endpointKey: 'b:1', blocksByTier: { disk: 1 } },
    ]);
    await index.removeBlocks(holder('b:1'), 'disk', [e(9)]);
    await index.removeBlocks(holder('b:1'), 'disk', [e(9)]);
    await index.removeBlocks(holder('a:1', 0), 'cpu', [e(0), e(0), e(1)]);
    expect(await index.endpointStats()).toEqual([
      { endpointKey: 'a:1', blocksByTier: { gpu: 4 } },
      { endpointKey: 'b:1', blocksByTier: {} },
    ]);
    await index.clearEndpoint('a:1');
    await index.clearEndpoint('b:1');
    expect(await index.endpointStats()).toEqual([]);
  });

  it('fetches long prompts in pipelined batches and stops at the first block nobody holds', async () => {
    const index = await open();
    await index.storeBlocks({
      holder: holder('a:1'),
      tier: 'gpu',
      requestKeys: requestKeys(0, 1000),
      engineKeys: engineKeys(0, 1000),
    });
    await index.storeBlocks({
      holder: holder('b:1'),
      tier: 'gpu',
      requestKeys: requestKeys(0, 700),
      engineKeys: null,
    });
    expect(scoresOf(await index.score(requestKeys(0, 1200)))).toEqual({ 'a:1': 1000, 'b:1': 700 });

    const admin = adminClient();
    const hashReads = async () => {
      const info = await admin.info('commandstats');
      return Number(/cmdstat_hgetall:calls=(\d+)/.exec(info)?.[1] ?? 0);
    };
    const before = await hashReads();
    const prompt = [k(0), k(1), ...requestKeys(5000, 6000)];
    expect(scoresOf(await index.score(prompt))).toEqual({ 'a:1': 2, 'b:1': 2 });
    // One batch of 64 request keys plus the generations of the two endpoints found on block 0.
    expect((await hashReads()) - before).toBe(64 + 2);
    const beforeUnheld = await hashReads();
    await index.score(requestKeys(5000, 6000));
    expect((await hashReads()) - beforeUnheld).toBe(64);
  });

  it('isolates indexes by key prefix and survives a script cache flush', async () => {
    const index = await open();
    const other = await open({ keyPrefix: 'other:' });
    await index.storeBlocks({
      holder: holder('a:1'),
      tier: 'gpu',
      requestKeys: requestKeys(0, 2),
      engineKeys: null,
    });
    expect((await other.score(requestKeys(0, 2))).scores.size).toBe(0);
    expect(await other.endpointStats()).toEqual([]);

    await adminClient().script('FLUSH');
    await index.storeBlocks({
      holder: holder('a:1'),
      tier: 'gpu',
      requestKeys: requestKeys(2, 3),
      engineKeys: null,
    });
    expect(scoresOf(await index.score(requestKeys(0, 3)))).toEqual({ 'a:1': 3 });
  });

  it('rejects bad configuration and input, and reports Redis failures as internal errors', async () => {
    expect(await errorCodeOf(createRedisKvIndexBackend({ url: 'http://127.0.0.1:1' }))).toBe(
      'invalid_config',
    );
    expect(await errorCodeOf(createRedisKvIndexBackend({ url: redisUrl(), commandTimeoutMs: 0 }))).toBe(
      'invalid_config',
    );
    // Port 1 is never a Redis: connection refused.
    expect(await errorCodeOf(createRedisKvIndexBackend({ url: 'redis://127.0.0.1:1' }))).toBe('internal');

    const index = await open();
    expect(
      await errorCodeOf(
        index.storeBlocks({
          holder: holder('a:1'),
          tier: 'gpu',
          requestKeys: requestKeys(0, 2),
          engineKeys: [e(0)],
        }),
      ),
    ).toBe('invalid_argument');
    expect(
      await errorCodeOf(
        index.storeBlocks({ holder: holder('a:1'), tier: 'g|pu', requestKeys: [k(0)], engineKeys: null }),
      ),
    ).toBe('invalid_argument');
    expect(await errorCodeOf(index.clearEndpoint(''))).toBe('invalid_argument');

    await index.close();
    await index.close();
    expect(await errorCodeOf(index.score(requestKeys(0, 2)))).toBe('internal');
  });
});
