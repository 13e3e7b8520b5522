import { afterEach, describe, expect, it } from 'vitest';
import { AttributeMap } from '../../../plugin/attribute-map.js';
import { prefixCacheMatchAttribute, tokenizedPromptAttribute } from '../../../plugin/data-keys.js';
import type { PluginDefinition } from '../../../plugin/define-plugin.js';
import type { EndpointState, SchedulingEndpoint } from '../../../plugin/endpoint-state.js';
import type { ProfileRunResult, SchedulingResult } from '../../../plugin/plugin-interfaces.js';
import type { SchedulingRequest } from '../../../plugin/scheduling-request.js';
import {
  chatCompletionBody,
  completionBody,
  createSchedulingRequest,
} from '../../../scheduling/create-scheduling-request.js';
import type { Scheduler } from '../../../scheduling/scheduler.js';
import { createTestEndpointState, createTestScheduler } from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { prefixPlugins } from '../../prefix-plugins.js';
import {
  type ApproxPrefixCacheProducer,
  approxPrefixCacheProducerPlugin,
  resolveBlockSizeTokens,
  resolveLruCapacity,
  resolveMaxBlocks,
} from './approx-prefix-cache-producer.js';

// Our definitions, minus any the built-in list already carries (it will, once this group is registered).
// biome-ignore lint/suspicious/noExplicitAny: definitions of any parameter schema.
const extraPlugins: ReadonlyArray<PluginDefinition<any>> = prefixPlugins.filter(
  (definition) => !builtinPlugins.some((builtin) => builtin.type === definition.type),
);

const schedulers: Scheduler[] = [];
afterEach(async () => {
  for (const scheduler of schedulers.splice(0)) await scheduler.close();
});

async function schedulerFor(
  config: string,
  endpoints: EndpointState[],
  random = () => 0.5,
): Promise<Scheduler> {
  const scheduler = await createTestScheduler({
    config,
    plugins: extraPlugins,
    endpoints: () => endpoints,
    random,
  });
  schedulers.push(scheduler);
  return scheduler;
}

function producerOf(scheduler: Scheduler, name = 'approx-prefix-cache-producer'): ApproxPrefixCacheProducer {
  const loaded = scheduler.plugins.all.find((plugin) => plugin.name === name);
  if (!loaded) throw new Error(`no plugin ${name}`);
  return loaded.behaviour as unknown as ApproxPrefixCacheProducer;
}

const longText = (seed: string, characters: number) =>
  seed.repeat(Math.ceil(characters / seed.length)).slice(0, characters);

async function scheduleAndSend(scheduler: Scheduler, request: SchedulingRequest, endpoints: EndpointState[]) {
  const outcome = await scheduler.schedule(request, endpoints);
  if (!outcome.ok) throw new Error(outcome.message);
  await scheduler.preRequest(request, outcome.result);
  return outcome.result;
}

const prefixScoresOf = (result: SchedulingResult) =>
  Object.fromEntries(result.profileResults.get('default')?.scoresByScorer.get('prefix-cache-scorer') ?? []);

describe('approx-prefix-cache-producer', () => {
  it('is created by default for prefix-cache-scorer, with an estimate token producer, and learns where prompts went', async () => {
    const endpoints = [0, 1, 2].map((index) => createTestEndpointState({ key: `10.1.0.${index + 1}:8000` }));
    const scheduler = await schedulerFor(
      'plugins:\n- type: prefix-cache-scorer\nschedulingProfiles:\n- name: default\n  plugins:\n  - pluginRef: prefix-cache-scorer\n',
      endpoints,
    );
    expect(scheduler.plugins.all.map((plugin) => plugin.type)).toEqual(
      expect.arrayContaining(['approx-prefix-cache-producer', 'token-producer']),
    );
    // 1,000 characters of shared system prompt: 250 pseudo-tokens, 4 blocks of 64.
    const system = longText('You are a careful assistant. ', 1000);
    const first = createSchedulingRequest({
      body: chatCompletionBody('m', [
        { role: 'system', content: system },
        { role: 'user', content: 'hi' },
      ]),
    });
    const firstResult = await scheduleAndSend(scheduler, first, endpoints);
    const chosen = firstResult.primary.endpoint.key;
    expect(Object.values(prefixScoresOf(firstResult))).toEqual([0, 0, 0]);

    const second = createSchedulingRequest({
      body: chatCompletionBody('m', [
        { role: 'system', content: system },
        { role: 'user', content: 'something else entirely, and longer' },
      ]),
    });
    const secondResult = await scheduleAndSend(scheduler, second, endpoints);
    expect(secondResult.primary.endpoint.key).toBe(chosen);
    const info = secondResult.primary.attributes.get(
      prefixCacheMatchAttribute('approx-prefix-cache-producer'),
    );
    expect(info?.blockSizeTokens).toBe(64);
    // The system prompt spans the first 3 full blocks; the differing user turn starts in block 4.
    expect(info?.matchBlocks).toBe(3);
    expect(info?.totalBlocks).toBe(
      Math.ceil((second.attributes.get(tokenizedPromptAttribute)?.tokenIds.length ?? 0) / 64),
    );
    const scores = prefixScoresOf(secondResult);
    expect(scores[chosen]).toBeCloseTo(3 / (info?.totalBlocks ?? 1));
    for (const endpoint of endpoints)
      if (endpoint.endpoint.key !== chosen) expect(scores[endpoint.endpoint.key]).toBe(0);
  });

  it('writes zero matches on every candidate for prompts without tokens and records nothing', async () => {
    const endpoints = [createTestEndpointState(), createTestEndpointState()];
    const scheduler = await schedulerFor('plugins:\n- type: prefix-cache-scorer\n', endpoints);
    const request = createSchedulingRequest({ body: undefined, model: 'm' });
    const result = await scheduleAndSend(scheduler, request, endpoints);
    for (const endpoint of [result.primary]) {
      expect(endpoint.attributes.get(prefixCacheMatchAttribute('approx-prefix-cache-producer'))).toEqual({
        matchBlocks: 0,
        totalBlocks: 0,
        blockSizeTokens: 64,
      });
    }
    expect(producerOf(scheduler).index.size).toBe(0);
  });

  it('also records the target of a profile named "prefill", and isolates models and cache salts', async () => {
    const endpoints = [
      createTestEndpointState({ key: '10.2.0.1:8000' }),
      createTestEndpointState({ key: '10.2.0.2:8000' }),
    ];
    const scheduler = await schedulerFor('plugins:\n- type: approx-prefix-cache-producer\n', endpoints);
    const producer = producerOf(scheduler);
    const candidates = (): SchedulingEndpoint[] =>
      endpoints.map((state) => ({ ...state, attributes: new AttributeMap() }));
    const tokens = Array.from({ length: 200 }, (_, index) => index);
    const request = (model: string, cacheSalt?: string) => {
      const created = createSchedulingRequest({ body: completionBody(model, tokens), model });
      created.attributes.set(tokenizedPromptAttribute, { tokenIds: tokens, source: 'estimate' });
      return cacheSalt === undefined
        ? created
        : { ...created, body: { ...(created.body as object), cacheSalt } as never };
    };
    const [decode, prefill] = candidates() as [SchedulingEndpoint, SchedulingEndpoint];
    const profile = (target: SchedulingEndpoint, profileName: string): ProfileRunResult => ({
      profileName,
      targets: [target],
      totals: new Map(),
      scoresByScorer: new Map(),
    });
    const first = request('m');
    await producer.produce(first, candidates());
    await producer.preRequest(first, {
      primaryProfileName: 'decode',
      primary: decode,
      fallbacks: [],
      profileResults: new Map([
        ['decode', profile(decode, 'decode')],
        ['prefill', profile(prefill, 'prefill')],
      ]),
    });
    const matches = (created: SchedulingRequest) => {
      const scored = candidates();
      producer.produce(created, scored);
      return scored.map(
        (candidate) =>
          candidate.attributes.get(prefixCacheMatchAttribute('approx-prefix-cache-producer'))?.matchBlocks,
      );
    };
    expect(matches(request('m'))).toEqual([4, 4]);
    expect(matches(request('other-model'))).toEqual([0, 0]);
    expect(matches(request('m', 'tenant-a'))).toEqual([0, 0]);
  });

  it('auto-tunes the block size from the first candidate (at least 64) and the capacity from cacheNumBlocks', async () => {
    const tuned = { autoTune: true, lruCapacityPerServer: 31_250 };
    const withMetrics = (cacheBlockSize: number | undefined, cacheNumBlocks?: number) =>
      createTestEndpointState({ metrics: { cacheBlockSize, cacheNumBlocks } });
    expect(resolveBlockSizeTokens(tuned, 16, [withMetrics(16)])).toBe(64);
    expect(resolveBlockSizeTokens(tuned, 16, [withMetrics(128)])).toBe(128);
    expect(resolveBlockSizeTokens(tuned, 256, [withMetrics(undefined)])).toBe(256);
    expect(resolveBlockSizeTokens({ autoTune: false }, 16, [withMetrics(128)])).toBe(64);
    expect(resolveBlockSizeTokens(tuned, 16, [])).toBe(64);
    // 1,000 engine blocks of 16 tokens hold 250 index blocks of 64.
    expect(resolveLruCapacity(tuned, withMetrics(16, 1000), 64)).toBe(250);
    expect(resolveLruCapacity(tuned, withMetrics(undefined), 64)).toBe(31_250);
    expect(resolveLruCapacity({ ...tuned, autoTune: false }, withMetrics(16, 1000), 64)).toBe(31_250);
    expect(resolveMaxBlocks({ maxPrefixTokensToMatch: 131_072, maxPrefixBlocksToMatch: 2048 }, 64)).toBe(
      2048,
    );
    expect(resolveMaxBlocks({ maxPrefixTokensToMatch: 0, maxPrefixBlocksToMatch: 10 }, 64)).toBe(10);
    expect(resolveMaxBlocks({ maxPrefixTokensToMatch: 0, maxPrefixBlocksToMatch: 0 }, 64)).toBe(
      Number.POSITIVE_INFINITY,
    );

    // End to end: an endpoint with room for 2 index blocks keeps only the first 2 blocks of a prompt.
    const small = createTestEndpointState({
      key: '10.3.0.1:8000',
      metrics: { cacheBlockSize: 16, cacheNumBlocks: 8 },
    });
    const scheduler = await schedulerFor('plugins:\n- type: prefix-cache-scorer\n', [small]);
    const text = longText('abcdefgh', 64 * 4 * 5); // 5 blocks of 64 pseudo-tokens
    const sent = await scheduleAndSend(
      scheduler,
      createSchedulingRequest({ body: completionBody('m', text) }),
      [small],
    );
    expect(sent.primary.endpoint.key).toBe('10.3.0.1:8000');
    expect(producerOf(scheduler).index.blocksHeld('10.3.0.1:8000')).toBe(2);
    const again = await scheduleAndSend(
      scheduler,
      createSchedulingRequest({ body: completionBody('m', text) }),
      [small],
    );
    expect(again.primary.attributes.get(prefixCacheMatchAttribute('approx-prefix-cache-producer'))).toEqual({
      matchBlocks: 2,
      totalBlocks: 5,
      blockSizeTokens: 64,
    });
  });

  it('caps the blocks hashed per request', async () => {
    const endpoint = createTestEndpointState();
    const scheduler = await schedulerFor(
      'plugins:\n- type: approx-prefix-cache-producer\n  parameters: {maxPrefixTokensToMatch: 128, autoTune: false, blockSizeTokens: 64}\n',
      [endpoint],
    );
    const request = createSchedulingRequest({ body: completionBody('m', longText('xy', 64 * 4 * 10)) });
    const outcome = await scheduler.schedule(request, [endpoint]);
    if (!outcome.ok) throw new Error(outcome.message);
    expect(
      outcome.result.primary.attributes.get(prefixCacheMatchAttribute('approx-prefix-cache-producer'))
        ?.totalBlocks,
    ).toBe(2);
  });

  it('purges endpoints that left the pool, periodically and on notification', async () => {
    const endpoints = [
      createTestEndpointState({ key: '10.4.0.1:8000' }),
      createTestEndpointState({ key: '10.4.0.2:8000' }),
    ];
    const pool = [...endpoints];
    const scheduler = await createTestScheduler({
      config: 'plugins:\n- type: prefix-cache-scorer\n',
      plugins: extraPlugins,
      endpoints: () => pool,
    });
    schedulers.push(scheduler);
    const producer = producerOf(scheduler);
    for (const endpoint of endpoints) {
      const request = createSchedulingRequest({ body: completionBody('m', longText('purge me ', 600)) });
      const outcome = await scheduler.schedule(request, [endpoint]);
      if (!outcome.ok) throw new Error(outcome.message);
      await scheduler.preRequest(request, outcome.result);
    }
    expect(producer.index.endpointKeys().sort()).toEqual(['10.4.0.1:8000', '10.4.0.2:8000']);
    pool.splice(0, 1);
    producer.purgeDepartedEndpoints();
    expect(producer.index.endpointKeys()).toEqual(['10.4.0.2:8000']);
    // An endpoint notification purges at once.
    producer.endpointRemoved?.((endpoints[1] as EndpointState).endpoint);
    expect(producer.index.endpointKeys()).toEqual([]);
  });

  it('rejects invalid and unknown parameters with the field path, and maps the deprecated blockSize', async () => {
    await expect(
      schedulerFor(
        'plugins:\n- type: approx-prefix-cache-producer\n  parameters: {maxPrefixTokensToMatch: -1}\n',
        [],
      ),
    ).rejects.toThrow(/plugins\[0\]\.parameters\.maxPrefixTokensToMatch/);
    await expect(
      schedulerFor('plugins:\n- type: approx-prefix-cache-producer\n  parameters: {hashSeed: x}\n', []),
    ).rejects.toThrow(/plugins\[0\]\.parameters/);
    const endpoint = createTestEndpointState();
    const scheduler = await schedulerFor(
      'plugins:\n- type: approx-prefix-cache-producer\n  parameters: {blockSize: 128, autoTune: false}\n',
      [endpoint],
    );
    const request = createSchedulingRequest({ body: completionBody('m', 'x') });
    const outcome = await scheduler.schedule(request, [endpoint]);
    if (!outcome.ok) throw new Error(outcome.message);
    expect(
      outcome.result.primary.attributes.get(prefixCacheMatchAttribute('approx-prefix-cache-producer'))
        ?.blockSizeTokens,
    ).toBe(128);
    expect(approxPrefixCacheProducerPlugin.defaultProducerFor).toEqual([
      'prefix-cache-match-info/approx-prefix-cache-producer',
    ]);
  });

  it('stays fast: 100 endpoints holding 8k- and 100k-token prompts', async () => {
    const endpoints = Array.from({ length: 100 }, (_, index) =>
      createTestEndpointState({ key: `10.9.${Math.floor(index / 200)}.${(index % 200) + 1}:8000` }),
    );
    const scheduler = await schedulerFor('plugins:\n- type: approx-prefix-cache-producer\n', endpoints);
    const producer = producerOf(scheduler);
    const measure = (tokenCount: number) => {
      const tokens = Array.from({ length: tokenCount }, (_, index) => (index * 2654435761) >>> 0);
      const request = () => {
        const created = createSchedulingRequest({ body: completionBody('m', tokens) });
        created.attributes.set(tokenizedPromptAttribute, { tokenIds: tokens, source: 'tokenizer' });
        return created;
      };
      // Worst case for the walk: every endpoint holds the whole prompt.
      const seed = request();
      producer.produce(
        seed,
        endpoints.map((state) => ({ ...state, attributes: new AttributeMap() })),
      );
      for (const endpoint of endpoints) {
        const candidate = { ...endpoint, attributes: new AttributeMap() };
        producer.preRequest(createCopy(seed), {
          primaryProfileName: 'd',
          primary: candidate,
          fallbacks: [],
          profileResults: new Map(),
        });
      }
      const durations: number[] = [];
      let matched = 0;
      for (let round = 0; round < 30; round++) {
        const candidates = endpoints.map((state) => ({ ...state, attributes: new AttributeMap() }));
        const started = performance.now();
        producer.produce(request(), candidates);
        durations.push(performance.now() - started);
        matched =
          candidates[99]?.attributes.get(prefixCacheMatchAttribute('approx-prefix-cache-producer'))
            ?.matchBlocks ?? 0;
      }
      durations.sort((left, right) => left - right);
      expect(matched).toBe(Math.min(Math.ceil(tokenCount / 64), 2048));
      return durations[Math.floor(durations.length / 2)] as number;
    };
    // Helper: preRequest consumes the state, so each endpoint needs it from a fresh produce.
    function createCopy(seed: SchedulingRequest): SchedulingRequest {
      const copy = { ...seed, attributes: seed.attributes };
      producer.produce(copy, []);
      return copy;
    }
    const eightThousand = measure(8192);
    const hundredThousand = measure(100_000);
    // Generous bounds (shared CI machines); typical figures are in the README.
    expect(eightThousand).toBeLessThan(5);
    expect(hundredThousand).toBeLessThan(25);
  });
});
