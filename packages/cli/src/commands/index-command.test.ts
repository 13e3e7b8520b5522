import { createBlockHasher } from '@llmd/core';
import { findRedisServerBinary, type RedisServerForTests, startRedisServer } from '@llmd/core/testing';
import { createKvEventPublisher } from '@llmd/sim';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../run-cli.js';
import { createMemoryIo } from '../testing-io.js';
import { spawnCli, waitForExit, waitForOutput } from '../testing-process.js';

const children: ReturnType<typeof spawnCli>[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

async function startIndex(extraFlags: string[]) {
  const child = spawnCli([
    'index',
    '--zmq-bind',
    'tcp://127.0.0.1:*',
    '--http-port',
    '0',
    '--block-size',
    '4',
    ...extraFlags,
  ]);
  children.push(child);
  const [, httpUrl, zmqEndpoint] = await waitForOutput(
    child,
    /serving (http:\/\/\S+?), KV events bound on (tcp:\/\/\S+)/,
  );
  return { child, httpUrl: httpUrl as string, zmqEndpoint: zmqEndpoint as string };
}

async function score(httpUrl: string, tokens: number[]) {
  const response = await fetch(`${httpUrl}/v1/score`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', tokens }),
  });
  return (await response.json()) as { scores: Record<string, number> };
}

const redisBinary = findRedisServerBinary();

describe.skipIf(!redisBinary)(
  `llmd index on Redis (${redisBinary ? 'redis-server found' : 'skipped: redis-server is not installed; .ci/run installs it'})`,
  () => {
    let redis: RedisServerForTests;
    beforeAll(async () => {
      redis = await startRedisServer();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it('two index processes on one Redis return the same scores', async () => {
      const first = await startIndex(['--redis-url', redis.url]);
      const second = await startIndex(['--redis-url', redis.url.replace('redis://', 'valkey://')]);
      const tokens = Array.from({ length: 20 }, (_, index) => 500 + index);
      const hashes = createBlockHasher({ algorithm: 'sha256_cbor', blockSize: 4, seed: '0' }).hash(tokens);
      // The engine publishes to the first index only; the second sees its writes through Redis.
      const publisher = await createKvEventPublisher({
        endpoint: first.zmqEndpoint,
        topic: 'kv@10.1.2.3:8000@m',
      });
      try {
        const event = {
          type: 'BlockStored' as const,
          blockHashes: hashes,
          parentBlockHash: null,
          tokenIds: tokens,
          blockSize: 4,
          loraId: null,
          medium: 'GPU',
          loraName: null,
        };
        // PUB drops messages until the SUB connection is up: resend (idempotent) until the index has them.
        await expect
          .poll(
            async () => {
              publisher.publish([event]);
              return (await score(first.httpUrl, tokens)).scores;
            },
            { timeout: 10_000, interval: 100 },
          )
          .toEqual({ '10.1.2.3:8000': 5 });
        expect(await score(second.httpUrl, tokens)).toEqual(await score(first.httpUrl, tokens));
      } finally {
        await publisher.close();
      }
      first.child.kill('SIGTERM');
      second.child.kill('SIGTERM');
      expect(await waitForExit(first.child)).toBe(0);
      expect(await waitForExit(second.child)).toBe(0);
    }, 60_000);
  },
);

describe('llmd index flags', () => {
  it('needs an event source and names bad flags', async () => {
    const none = createMemoryIo();
    expect(await runCli(['index'], none)).toBe(2);
    expect(none.stderr()).toMatch(/^llmd: error: --zmq-bind: give --zmq-bind/);
    const badPod = createMemoryIo();
    expect(await runCli(['index', '--pod-event-endpoints', 'nonsense'], badPod)).toBe(2);
    expect(badPod.stderr()).toMatch(/--pod-event-endpoints: "nonsense" is not ip:port=tcp/);
    const badWeight = createMemoryIo();
    expect(await runCli(['index', '--zmq-bind', 'tcp://*:1', '--tier-weights', 'cpu=lots'], badWeight)).toBe(
      2,
    );
    expect(badWeight.stderr()).toMatch(/--tier-weights: "cpu=lots" is not tier=weight/);
    const badBound = createMemoryIo();
    expect(
      await runCli(['index', '--zmq-bind', 'tcp://*:1', '--store-only-tiers', 'cpu:forever'], badBound),
    ).toBe(2);
    expect(badBound.stderr()).toMatch(/--store-only-tiers: "cpu:forever" is not tier:ttl=/);
    const badAlgo = createMemoryIo();
    expect(await runCli(['index', '--zmq-bind', 'tcp://*:1', '--engine-hash-algo', 'md5'], badAlgo)).toBe(2);
    expect(badAlgo.stderr()).toMatch(/--engine-hash-algo/);
  });
});
