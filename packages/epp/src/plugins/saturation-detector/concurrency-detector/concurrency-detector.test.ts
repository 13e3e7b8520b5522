import { describe, expect, it } from 'vitest';
import { AttributeMap } from '../../../plugin/attribute-map.js';
import { tokenizedPromptAttribute } from '../../../plugin/data-keys.js';
import type { EndpointState, SchedulingEndpoint } from '../../../plugin/endpoint-state.js';
import type { PluginBehaviour, SchedulingResult } from '../../../plugin/plugin-interfaces.js';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import { createTestEndpointState, createTestScheduler } from '../../../testing/index.js';
import { concurrencyDetectorPlugin, maxTrackedRequests } from './concurrency-detector.js';

type Detector = Required<
  Pick<PluginBehaviour, 'saturation' | 'filter' | 'preRequest' | 'requestComplete' | 'endpointRemoved'>
>;

async function loadDetector(parameters = '{}', endpoints: ReadonlyArray<EndpointState> = []) {
  const scheduler = await createTestScheduler({
    config: `plugins:\n  - type: concurrency-detector\n    parameters: ${parameters}\n`,
    plugins: [concurrencyDetectorPlugin],
    endpoints: () => endpoints,
    random: () => 0,
  });
  const loaded = scheduler.plugins.all.find((plugin) => plugin.type === 'concurrency-detector');
  return { scheduler, detector: loaded?.behaviour as Detector };
}

const candidate = (state: EndpointState): SchedulingEndpoint => ({
  ...state,
  attributes: new AttributeMap(),
});

const resultFor = (state: EndpointState): SchedulingResult => ({
  primaryProfileName: 'default',
  profileResults: new Map(),
  primary: candidate(state),
  fallbacks: [],
});

const completion = { cause: 'completed', servedEndpoint: undefined, status: 200 } as const;

describe('concurrency-detector', () => {
  it('reports in-flight requests over pool capacity, counting from pre-request to completion', async () => {
    const endpoints = [createTestEndpointState(), createTestEndpointState()];
    const [first, second] = endpoints as [EndpointState, EndpointState];
    const { detector } = await loadDetector('{ maxConcurrency: 2 }');
    expect(detector.saturation(endpoints)).toBe(0);
    const requests = [createSchedulingRequest(), createSchedulingRequest(), createSchedulingRequest()];
    await detector.preRequest(requests[0] as never, resultFor(first));
    await detector.preRequest(requests[1] as never, resultFor(first));
    await detector.preRequest(requests[2] as never, resultFor(second));
    expect(detector.saturation(endpoints)).toBe(0.75);
    // Only the endpoints asked about count: `first` alone is at capacity.
    expect(detector.saturation([first])).toBe(1);
    detector.requestComplete(requests[0] as never, completion);
    detector.requestComplete(requests[0] as never, completion); // a second completion changes nothing
    expect(detector.saturation(endpoints)).toBe(0.5);
    // Pre-request twice for one request (a retry) counts it once.
    await detector.preRequest(requests[1] as never, resultFor(second));
    expect(detector.saturation(endpoints)).toBe(0.5);
  });

  it('treats an empty pool as saturated', async () => {
    const { detector } = await loadDetector();
    expect(detector.saturation([])).toBe(1);
  });

  it('counts prompt tokens in token mode: the tokenizer count when present, else bytes / 4', async () => {
    const endpoint = createTestEndpointState();
    const { detector } = await loadDetector('{ concurrencyMode: tokens, maxTokenConcurrency: 1000 }');
    const estimated = createSchedulingRequest({ bodyBytes: 802 }); // ceil(802 / 4) = 201
    const tokenized = createSchedulingRequest({ bodyBytes: 10_000 });
    tokenized.attributes.set(tokenizedPromptAttribute, {
      tokenIds: new Array(299).fill(1),
      source: 'tokenizer',
    });
    await detector.preRequest(estimated, resultFor(endpoint));
    await detector.preRequest(tokenized, resultFor(endpoint));
    expect(detector.saturation([endpoint])).toBe(0.5);
  });

  it('takes the tighter of requests and tokens in hybrid mode', async () => {
    const endpoint = createTestEndpointState();
    const { detector } = await loadDetector(
      '{ concurrencyMode: hybrid, maxConcurrency: 10, maxTokenConcurrency: 100 }',
    );
    await detector.preRequest(createSchedulingRequest({ bodyBytes: 200 }), resultFor(endpoint)); // 50 tokens
    expect(detector.saturation([endpoint])).toBe(0.5);
    await detector.preRequest(createSchedulingRequest({ bodyBytes: 0 }), resultFor(endpoint));
    await detector.preRequest(createSchedulingRequest({ bodyBytes: 0 }), resultFor(endpoint));
    expect(detector.saturation([endpoint])).toBe(0.5);
    await detector.preRequest(createSchedulingRequest({ bodyBytes: 200 }), resultFor(endpoint)); // 100 tokens
    expect(detector.saturation([endpoint])).toBe(1);
  });

  it('filters out endpoints at capacity × (1 + headroom)', async () => {
    const busy = createTestEndpointState();
    const idle = createTestEndpointState();
    const { detector } = await loadDetector('{ maxConcurrency: 2, headroom: 0.5 }'); // limit floor(3) = 3
    for (let index = 0; index < 2; index++)
      await detector.preRequest(createSchedulingRequest(), resultFor(busy));
    const request = createSchedulingRequest();
    expect(detector.filter(request, [candidate(busy), candidate(idle)])).toHaveLength(2);
    await detector.preRequest(createSchedulingRequest(), resultFor(busy));
    const kept = detector.filter(request, [candidate(busy), candidate(idle)]);
    expect(kept.map((endpoint) => endpoint.endpoint.key)).toEqual([idle.endpoint.key]);
    // Like llm-d, no fail-open: when every endpoint is full the list is empty (429 rejected-saturated).
    expect(detector.filter(request, [candidate(busy)])).toEqual([]);
  });

  it('forgets a removed endpoint without letting its late completions skew a re-added one', async () => {
    const endpoint = createTestEndpointState();
    const { detector } = await loadDetector('{ maxConcurrency: 4 }');
    const old = createSchedulingRequest();
    await detector.preRequest(old, resultFor(endpoint));
    detector.endpointRemoved(endpoint.endpoint);
    expect(detector.saturation([endpoint])).toBe(0);
    const fresh = createSchedulingRequest();
    await detector.preRequest(fresh, resultFor(endpoint));
    detector.requestComplete(old, completion);
    expect(detector.saturation([endpoint])).toBe(0.25);
  });

  it('serves as the scheduler saturation detector and filter through a real scheduling cycle', async () => {
    const endpoints = [createTestEndpointState(), createTestEndpointState()];
    const { scheduler } = await loadDetector('{ maxConcurrency: 1 }', endpoints);
    expect(scheduler.plugins.saturationDetector.plugin.type).toBe('concurrency-detector');
    const routed = new Set<string>();
    for (let index = 0; index < 2; index++) {
      const request = createSchedulingRequest();
      const outcome = await scheduler.schedule(request, endpoints);
      if (!outcome.ok) throw new Error(outcome.message);
      await scheduler.preRequest(request, outcome.result);
      routed.add(outcome.result.primary.endpoint.key);
    }
    // The filter spread the two requests over both endpoints.
    expect(routed.size).toBe(2);
    expect(scheduler.saturation(endpoints)).toBe(1);
    const third = await scheduler.schedule(createSchedulingRequest(), endpoints);
    expect(third).toMatchObject({ ok: false, status: 429, dropReason: 'rejected-saturated' });
  });

  it('bounds the requests it tracks, forgetting the oldest when completions are lost', async () => {
    const endpoint = createTestEndpointState();
    const { detector } = await loadDetector('{ maxConcurrency: 1000000 }');
    const result = resultFor(endpoint);
    for (let index = 0; index < maxTrackedRequests + 10; index++) {
      void detector.preRequest(createSchedulingRequest({ requestId: `r${index}` }), result);
    }
    expect(detector.saturation([endpoint])).toBe(maxTrackedRequests / 1_000_000);
  });

  it('uses llm-d defaults and names invalid parameters', async () => {
    const endpoint = createTestEndpointState();
    const { detector } = await loadDetector('{ inFlightLoadProducerName: inflight-load-producer }');
    await detector.preRequest(createSchedulingRequest(), resultFor(endpoint));
    expect(detector.saturation([endpoint])).toBe(0.01); // 1 of the default maxConcurrency 100
    await expect(loadDetector('{ maxConcurrency: 0 }')).rejects.toThrow(
      /plugins\[0\]\.parameters\.maxConcurrency/,
    );
    await expect(loadDetector('{ concurrencyMode: bytes }')).rejects.toThrow(
      /plugins\[0\]\.parameters\.concurrencyMode/,
    );
    await expect(loadDetector('{ headroom: -0.1 }')).rejects.toThrow(/plugins\[0\]\.parameters\.headroom/);
    await expect(loadDetector('{ maxConcurency: 5 }')).rejects.toThrow(/plugins\[0\]\.parameters/);
  });
});
