import { noopLogger } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { AttributeMap } from '../../../plugin/attribute-map.js';
import {
  inFlightLoadAttribute,
  prefixCacheMatchAttribute,
  tokenizedPromptAttribute,
} from '../../../plugin/data-keys.js';
import type { PluginHandle } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';
import type { PluginBehaviour, SchedulingResult } from '../../../plugin/plugin-interfaces.js';
import type { SchedulingRequest } from '../../../plugin/scheduling-request.js';
import { completionBody, createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import {
  createTestEndpointState,
  createTestScheduler,
  createTestSchedulingEndpoint,
} from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { scorerPlugins } from '../../scorer-plugins.js';
import {
  inflightLoadProducerParameters,
  inflightLoadProducerPlugin,
  promptTokenCount,
  uncachedPromptTokens,
} from './inflight-load-producer.js';

const handle: PluginHandle = {
  name: 'inflight-load-producer',
  logger: noopLogger,
  now: () => 0,
  random: () => 0,
  plugin: () => {
    throw new Error('no plugins in this test');
  },
  endpoints: () => [],
  endpoint: () => undefined,
};
const plugins = scorerPlugins.filter((definition) => !builtinPlugins.includes(definition));

type Producer = Required<
  Pick<PluginBehaviour, 'produce' | 'preRequest' | 'responseChunk' | 'requestComplete' | 'endpointRemoved'>
>;

function producerWith(parameters: unknown = {}): Producer {
  return inflightLoadProducerPlugin.create(
    inflightLoadProducerParameters.parse(parameters),
    handle,
  ) as Producer;
}

function resultOf(primaryProfileName: string, targets: Record<string, SchedulingEndpoint>): SchedulingResult {
  const profileResults = new Map(
    Object.entries(targets).map(([profileName, target]) => [
      profileName,
      { profileName, targets: [target], totals: new Map(), scoresByScorer: new Map() },
    ]),
  );
  const primary = targets[primaryProfileName] as SchedulingEndpoint;
  return { primaryProfileName, profileResults, primary, fallbacks: [] };
}

/** Runs produce on fresh candidates for the given endpoints and returns what was written. */
function loadsOf(producer: Producer, ...endpoints: SchedulingEndpoint[]) {
  const candidates: SchedulingEndpoint[] = endpoints.map((endpoint) => ({
    ...endpoint,
    attributes: new AttributeMap(),
  }));
  producer.produce(createSchedulingRequest(), candidates);
  return candidates.map((candidate) => candidate.attributes.get(inFlightLoadAttribute));
}

function requestWithTokens(count: number): SchedulingRequest {
  const request = createSchedulingRequest({ body: completionBody('m', 'x'), bodyBytes: 10 });
  request.attributes.set(tokenizedPromptAttribute, {
    tokenIds: new Array(count).fill(1),
    source: 'tokenizer',
  });
  return request;
}

const chunk = (first: boolean) => ({ data: new Uint8Array(1), first, servedEndpoint: undefined });
const completed = { cause: 'completed', servedEndpoint: undefined, status: 200 } as const;

describe('prompt token accounting', () => {
  it('counts the tokenized prompt, else 4 body bytes per token', () => {
    expect(promptTokenCount(requestWithTokens(37))).toBe(37);
    expect(promptTokenCount(createSchedulingRequest({ bodyBytes: 401 }))).toBe(101);
    expect(promptTokenCount(createSchedulingRequest())).toBe(0);
  });

  it('subtracts the cached prefix blocks and keeps the tail the index does not cover', () => {
    expect(uncachedPromptTokens(1000, undefined)).toBe(1000);
    expect(uncachedPromptTokens(1000, { matchBlocks: 10, totalBlocks: 16, blockSizeTokens: 64 })).toBe(384);
    // Index capped at 4 blocks of 64 = 256 tokens; 744 tokens beyond the cap still count.
    expect(uncachedPromptTokens(1000, { matchBlocks: 4, totalBlocks: 4, blockSizeTokens: 64 })).toBe(744);
    expect(uncachedPromptTokens(100, { matchBlocks: 1, totalBlocks: 2, blockSizeTokens: 0 })).toBe(100);
  });
});

describe('inflight-load-producer', () => {
  it('declares what it produces and offers itself as the default producer', () => {
    const producer = producerWith() as PluginBehaviour;
    expect(producer.produces).toEqual(['inflight-load']);
    expect(inflightLoadProducerPlugin.defaultProducerFor).toEqual(['inflight-load']);
    expect(producer.consumes?.required).toEqual([]);
    expect(producer.consumes?.optional).toContain('prefix-cache-match-info/approx-prefix-cache-producer');
    expect(inflightLoadProducerParameters.parse(undefined)).toEqual({
      addEstimatedOutputTokens: false,
      prefixMatchInfoProducerName: 'approx-prefix-cache-producer',
    });
  });

  it('writes zero load on endpoints with nothing in flight', () => {
    const producer = producerWith();
    expect(loadsOf(producer, createTestSchedulingEndpoint())).toEqual([{ requests: 0, tokens: 0 }]);
  });

  it('counts the primary target, releases tokens at the first chunk and the request at completion', () => {
    const producer = producerWith();
    const endpoint = createTestSchedulingEndpoint({ key: '10.6.0.1:8000' });
    const request = requestWithTokens(500);
    producer.preRequest(request, resultOf('default', { default: endpoint }));
    expect(loadsOf(producer, endpoint)).toEqual([{ requests: 1, tokens: 500 }]);
    producer.responseChunk(request, chunk(false));
    expect(loadsOf(producer, endpoint)).toEqual([{ requests: 1, tokens: 500 }]);
    producer.responseChunk(request, chunk(true));
    expect(loadsOf(producer, endpoint)).toEqual([{ requests: 1, tokens: 0 }]);
    producer.requestComplete(request, completed);
    expect(loadsOf(producer, endpoint)).toEqual([{ requests: 0, tokens: 0 }]);
  });

  it('releases exactly once when a request completes without a response (disconnect)', () => {
    const producer = producerWith();
    const endpoint = createTestSchedulingEndpoint({ key: '10.6.0.2:8000' });
    const first = requestWithTokens(10);
    const second = requestWithTokens(20);
    producer.preRequest(first, resultOf('default', { default: endpoint }));
    producer.preRequest(second, resultOf('default', { default: endpoint }));
    producer.requestComplete(first, { ...completed, cause: 'client-disconnected' });
    producer.requestComplete(first, { ...completed, cause: 'client-disconnected' });
    producer.responseChunk(first, chunk(true));
    expect(loadsOf(producer, endpoint)).toEqual([{ requests: 1, tokens: 20 }]);
  });

  it('counts only the uncached part of the prompt on each target', () => {
    const producer = producerWith();
    const endpoint = createTestSchedulingEndpoint({ key: '10.6.0.3:8000' });
    endpoint.attributes.set(prefixCacheMatchAttribute('approx-prefix-cache-producer'), {
      matchBlocks: 3,
      totalBlocks: 4,
      blockSizeTokens: 64,
    });
    producer.preRequest(requestWithTokens(256), resultOf('default', { default: endpoint }));
    expect(loadsOf(producer, endpoint)).toEqual([{ requests: 1, tokens: 64 }]);
  });

  it('reads the prefix match of the configured producer name', () => {
    const producer = producerWith({ prefixMatchInfoProducerName: 'precise-prefix-cache-producer' });
    const endpoint = createTestSchedulingEndpoint({ key: '10.6.0.4:8000' });
    endpoint.attributes.set(prefixCacheMatchAttribute('approx-prefix-cache-producer'), {
      matchBlocks: 4,
      totalBlocks: 4,
      blockSizeTokens: 64,
    });
    endpoint.attributes.set(prefixCacheMatchAttribute('precise-prefix-cache-producer'), {
      matchBlocks: 1,
      totalBlocks: 4,
      blockSizeTokens: 64,
    });
    producer.preRequest(requestWithTokens(256), resultOf('default', { default: endpoint }));
    expect(loadsOf(producer, endpoint)).toEqual([{ requests: 1, tokens: 192 }]);
  });

  it('counts every profile target in P/D and frees all tokens at the first chunk', () => {
    const producer = producerWith();
    const decode = createTestSchedulingEndpoint({ key: '10.6.1.1:8000' });
    const prefill = createTestSchedulingEndpoint({ key: '10.6.1.2:8000' });
    const request = requestWithTokens(300);
    producer.preRequest(request, resultOf('decode', { decode, prefill }));
    expect(loadsOf(producer, decode, prefill)).toEqual([
      { requests: 1, tokens: 300 },
      { requests: 1, tokens: 300 },
    ]);
    producer.responseChunk(request, chunk(true));
    expect(loadsOf(producer, decode, prefill)).toEqual([
      { requests: 1, tokens: 0 },
      { requests: 1, tokens: 0 },
    ]);
    producer.requestComplete(request, completed);
    expect(loadsOf(producer, decode, prefill)).toEqual([
      { requests: 0, tokens: 0 },
      { requests: 0, tokens: 0 },
    ]);
  });

  it('with addEstimatedOutputTokens, adds 1.5× output (capped by max_tokens) and frees only prefill at the first chunk', () => {
    const producer = producerWith({ addEstimatedOutputTokens: true });
    const decode = createTestSchedulingEndpoint({ key: '10.6.2.1:8000' });
    const prefill = createTestSchedulingEndpoint({ key: '10.6.2.2:8000' });
    const request = requestWithTokens(100);
    producer.preRequest(request, resultOf('decode', { decode, prefill }));
    expect(loadsOf(producer, decode)).toEqual([{ requests: 1, tokens: 250 }]);
    producer.responseChunk(request, chunk(true));
    expect(loadsOf(producer, decode, prefill)).toEqual([
      { requests: 1, tokens: 250 },
      { requests: 0, tokens: 0 },
    ]);
    producer.requestComplete(request, completed);
    expect(loadsOf(producer, decode)).toEqual([{ requests: 0, tokens: 0 }]);

    const capped = createSchedulingRequest({ body: { ...completionBody('m', 'x'), maxTokens: 16 } });
    capped.attributes.set(tokenizedPromptAttribute, {
      tokenIds: new Array(100).fill(1),
      source: 'tokenizer',
    });
    producer.preRequest(capped, resultOf('decode', { decode }));
    expect(loadsOf(producer, decode)).toEqual([{ requests: 1, tokens: 116 }]);
  });

  it('forgets an endpoint removed from the pool', () => {
    const producer = producerWith();
    const endpoint = createTestSchedulingEndpoint({ key: '10.6.3.1:8000' });
    const request = requestWithTokens(10);
    producer.preRequest(request, resultOf('default', { default: endpoint }));
    producer.endpointRemoved(endpoint.endpoint);
    expect(loadsOf(producer, endpoint)).toEqual([{ requests: 0, tokens: 0 }]);
    producer.requestComplete(request, completed);
    expect(loadsOf(producer, endpoint)).toEqual([{ requests: 0, tokens: 0 }]);
  });

  it('is injected for active-request-scorer and steers the next request away from a busy endpoint', async () => {
    const scheduler = await createTestScheduler({
      plugins,
      random: () => 0,
      config: `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: active-request-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: active-request-scorer
`,
    });
    expect(scheduler.plugins.producers.map(({ plugin }) => plugin.type)).toEqual(['inflight-load-producer']);
    const pool = [
      createTestEndpointState({ key: '10.6.4.1:8000' }),
      createTestEndpointState({ key: '10.6.4.2:8000' }),
    ];

    const first = createSchedulingRequest({ bodyBytes: 400 });
    const firstOutcome = await scheduler.schedule(first, pool);
    if (!firstOutcome.ok) throw new Error(firstOutcome.message);
    await scheduler.preRequest(first, firstOutcome.result);
    const busyKey = firstOutcome.result.primary.endpoint.key;

    const second = createSchedulingRequest({ bodyBytes: 400 });
    const secondOutcome = await scheduler.schedule(second, pool);
    if (!secondOutcome.ok) throw new Error(secondOutcome.message);
    expect(secondOutcome.result.primary.endpoint.key).not.toBe(busyKey);
    expect(secondOutcome.result.primary.attributes.get(inFlightLoadAttribute)).toEqual({
      requests: 0,
      tokens: 0,
    });
    const busy = secondOutcome.result.profileResults.get('default')?.totals.get(busyKey);
    expect(busy).toBe(0);

    scheduler.requestComplete(first, completed);
    const third = await scheduler.schedule(createSchedulingRequest(), pool);
    if (!third.ok) throw new Error(third.message);
    expect([...(third.result.profileResults.get('default')?.totals.values() ?? [])]).toEqual([1, 1]);
  });

  it('rejects invalid parameters, naming the field path', async () => {
    await expect(
      createTestScheduler({
        plugins,
        config: {
          plugins: [{ type: 'inflight-load-producer', parameters: { addEstimatedOutputTokens: 'yes' } }],
        },
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters\.addEstimatedOutputTokens/);
  });
});
