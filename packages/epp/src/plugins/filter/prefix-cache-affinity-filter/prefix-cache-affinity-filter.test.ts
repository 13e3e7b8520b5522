import { noopLogger } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import {
  inFlightLoadAttribute,
  inFlightLoadDataKey,
  prefixCacheMatchAttribute,
  prefixCacheMatchDataKey,
} from '../../../plugin/data-keys.js';
import { definePlugin, type PluginHandle } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';
import { isFilter } from '../../../plugin/plugin-interfaces.js';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import {
  createTestEndpointState,
  createTestScheduler,
  createTestSchedulingEndpoint,
} from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import {
  prefixCacheAffinityFilterParameters,
  prefixCacheAffinityFilterPlugin,
} from './prefix-cache-affinity-filter.js';

const request = createSchedulingRequest();

function handleWithRandom(random: () => number): PluginHandle {
  return {
    name: 'prefix-cache-affinity-filter',
    logger: noopLogger,
    now: () => 0,
    random,
    plugin: (name) => {
      throw new Error(`no plugin ${name}`);
    },
    endpoints: () => [],
    endpoint: () => undefined,
  };
}
function create(parameters: unknown, random: () => number = () => 0.5) {
  const behaviour = prefixCacheAffinityFilterPlugin.create(
    prefixCacheAffinityFilterParameters.parse(parameters),
    handleWithRandom(random),
  );
  if (!isFilter(behaviour)) throw new Error('not a filter');
  return behaviour;
}
function candidate(
  key: string,
  match: { matchBlocks: number; totalBlocks: number } | undefined,
  inFlightTokens?: number,
  producer = 'approx-prefix-cache-producer',
): SchedulingEndpoint {
  const endpoint = createTestSchedulingEndpoint({ key });
  if (match) endpoint.attributes.set(prefixCacheMatchAttribute(producer), { ...match, blockSizeTokens: 16 });
  if (inFlightTokens !== undefined)
    endpoint.attributes.set(inFlightLoadAttribute, { requests: 1, tokens: inFlightTokens });
  return endpoint;
}
function keys(endpoints: ReadonlyArray<SchedulingEndpoint>): string[] {
  return endpoints.map((entry) => entry.endpoint.key);
}

describe('prefix-cache-affinity-filter', () => {
  const warm = candidate('10.0.6.1:8000', { matchBlocks: 9, totalBlocks: 10 }, 0);
  const lukewarm = candidate('10.0.6.2:8000', { matchBlocks: 8, totalBlocks: 10 }, 0);
  const cold = candidate('10.0.6.3:8000', { matchBlocks: 1, totalBlocks: 10 }, 0);
  const unknown = candidate('10.0.6.4:8000', undefined, 0);

  it('keeps only endpoints at or above the affinity threshold (default 0.8)', () => {
    expect(keys(create({}).filter(request, [warm, lukewarm, cold, unknown]))).toEqual([
      '10.0.6.1:8000',
      '10.0.6.2:8000',
    ]);
    expect(keys(create({ affinityThreshold: 0.85 }).filter(request, [warm, lukewarm, cold]))).toEqual([
      '10.0.6.1:8000',
    ]);
  });

  it('keeps everything when no endpoint is sticky, for one candidate, or with threshold 0', () => {
    expect(create({}).filter(request, [cold, unknown])).toEqual([cold, unknown]);
    expect(create({}).filter(request, [cold])).toEqual([cold]);
    expect(create({ affinityThreshold: 0 }).filter(request, [warm, cold])).toEqual([warm, cold]);
    expect(create({}).filter(request, [])).toEqual([]);
  });

  it('treats totalBlocks 0 as no match', () => {
    const empty = candidate('10.0.6.5:8000', { matchBlocks: 0, totalBlocks: 0 }, 0);
    expect(create({ affinityThreshold: 0.2 }).filter(request, [empty, cold])).toEqual([empty, cold]);
  });

  it('skips the gate with explorationProbability', () => {
    expect(create({ explorationProbability: 0.1 }, () => 0.05).filter(request, [warm, cold])).toEqual([
      warm,
      cold,
    ]);
    expect(create({ explorationProbability: 0.1 }, () => 0.2).filter(request, [warm, cold])).toEqual([warm]);
  });

  it('breaks stickiness when sticky endpoints are slower by more than maxTTFTPenaltyMs', () => {
    // 31856 in-flight tokens at 15928 tokens/s = 2000 ms estimated TTFT.
    const busyWarm = candidate('10.0.6.6:8000', { matchBlocks: 10, totalBlocks: 10 }, 31856);
    const idleCold = candidate('10.0.6.7:8000', { matchBlocks: 0, totalBlocks: 10 }, 0);
    expect(create({ maxTTFTPenaltyMs: 1999 }).filter(request, [busyWarm, idleCold])).toEqual([
      busyWarm,
      idleCold,
    ]);
    expect(create({ maxTTFTPenaltyMs: 2000 }).filter(request, [busyWarm, idleCold])).toEqual([busyWarm]);
    expect(
      create({ maxTTFTPenaltyMs: 500, peakPrefillThroughput: 63712 }).filter(request, [busyWarm, idleCold]),
    ).toEqual([busyWarm]);
    // 0 disables the gate entirely.
    expect(create({ maxTTFTPenaltyMs: 0 }).filter(request, [busyWarm, idleCold])).toEqual([busyWarm]);
  });

  it('keeps everything when either side lacks in-flight data', () => {
    const warmNoLoad = candidate('10.0.6.8:8000', { matchBlocks: 10, totalBlocks: 10 });
    expect(create({}).filter(request, [warmNoLoad, cold])).toEqual([warmNoLoad, cold]);
  });

  it('reads the configured producer and declares what it consumes', () => {
    const other = candidate('10.0.6.9:8000', { matchBlocks: 10, totalBlocks: 10 }, 0, 'precise');
    expect(create({ prefixMatchInfoProducerName: 'precise' }).filter(request, [other, warm])).toEqual([
      other,
    ]);
    expect(create({}).consumes).toEqual({
      required: [prefixCacheMatchDataKey('approx-prefix-cache-producer'), inFlightLoadDataKey],
    });
    expect(create({ maxTTFTPenaltyMs: 0, prefixMatchInfoProducerName: 'precise' }).consumes).toEqual({
      required: [prefixCacheMatchDataKey('precise')],
    });
  });

  // Stand-ins for approx-prefix-cache-producer and inflight-load-producer (written elsewhere, in
  // parallel): they copy match ratios and loads from endpoint labels so the test controls them exactly.
  const labelPrefixProducer = definePlugin({
    type: 'test-label-prefix-producer',
    create: (_parameters, handle) => ({
      produces: [prefixCacheMatchDataKey(handle.name)],
      produce: (_request, endpoints) => {
        for (const entry of endpoints) {
          const matchBlocks = Number(entry.endpoint.labels['match-blocks'] ?? 0);
          entry.attributes.set(prefixCacheMatchAttribute(handle.name), {
            matchBlocks,
            totalBlocks: 10,
            blockSizeTokens: 16,
          });
        }
      },
    }),
  });
  const labelLoadProducer = definePlugin({
    type: 'test-label-load-producer',
    create: () => ({
      produces: [inFlightLoadDataKey],
      produce: (_request, endpoints) => {
        for (const entry of endpoints)
          entry.attributes.set(inFlightLoadAttribute, { requests: 0, tokens: 0 });
      },
    }),
  });
  const plugins = [prefixCacheAffinityFilterPlugin, labelPrefixProducer, labelLoadProducer].filter(
    (definition) => !builtinPlugins.includes(definition),
  );

  it('routes to the sticky endpoint from a YAML config', async () => {
    const scheduler = await createTestScheduler({
      plugins,
      config: `
plugins:
- { type: test-label-prefix-producer, name: approx-prefix-cache-producer }
- { type: test-label-load-producer }
- { type: prefix-cache-affinity-filter, parameters: { affinityThreshold: 0.5 } }
schedulingProfiles:
- name: default
  plugins: [{ pluginRef: prefix-cache-affinity-filter }]
`,
    });
    const endpoints = [
      createTestEndpointState({ key: '10.0.6.10:8000', labels: { 'match-blocks': '2' } }),
      createTestEndpointState({ key: '10.0.6.11:8000', labels: { 'match-blocks': '7' } }),
      createTestEndpointState({ key: '10.0.6.12:8000', labels: { 'match-blocks': '4' } }),
    ];
    for (let round = 0; round < 5; round++) {
      const outcome = await scheduler.schedule(createSchedulingRequest(), endpoints);
      expect(outcome.ok && outcome.result.primary.endpoint.key).toBe('10.0.6.11:8000');
    }
  });

  it('names invalid parameters', async () => {
    const load = (parameters: string) =>
      createTestScheduler({
        plugins,
        config: `plugins: [{ type: prefix-cache-affinity-filter, parameters: ${parameters} }]`,
      });
    await expect(load('{ affinityThreshold: 1.5 }')).rejects.toThrow(
      /plugins\[0\]\.parameters\.affinityThreshold/,
    );
    await expect(load('{ ttftSource: latencyPredictor }')).rejects.toThrow(
      /plugins\[0\]\.parameters\.ttftSource: ttftSource "latencyPredictor" is not supported/,
    );
    await expect(load('{ peakPrefillThroughput: 0 }')).rejects.toThrow(
      /plugins\[0\]\.parameters\.peakPrefillThroughput/,
    );
  });
});
