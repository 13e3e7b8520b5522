import { noopLogger } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { prefixCacheMatchAttribute, prefixCacheMatchDataKey } from '../../../plugin/data-keys.js';
import { definePlugin, type PluginHandle } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';
import type { PluginBehaviour, SchedulingResult } from '../../../plugin/plugin-interfaces.js';
import type { SchedulingRequest } from '../../../plugin/scheduling-request.js';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import {
  createTestEndpointState,
  createTestScheduler,
  createTestSchedulingEndpoint,
} from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { noHitLruScorerParameters, noHitLruScorerPlugin } from './no-hit-lru-scorer.js';

const handle: PluginHandle = {
  name: 'no-hit-lru-scorer',
  logger: noopLogger,
  now: () => 0,
  random: () => 0,
  plugin: () => {
    throw new Error('no plugins in this test');
  },
  endpoints: () => [],
  endpoint: () => undefined,
};
type Scorer = Required<Pick<PluginBehaviour, 'score' | 'preRequest'>> & PluginBehaviour;
const approxMatch = prefixCacheMatchAttribute('approx-prefix-cache-producer');

function scorerWith(parameters: unknown = {}): Scorer {
  return noHitLruScorerPlugin.create(noHitLruScorerParameters.parse(parameters), handle) as Scorer;
}

function resultOf(primaryProfileName: string, targets: Record<string, SchedulingEndpoint>): SchedulingResult {
  const profileResults = new Map(
    Object.entries(targets).map(([profileName, target]) => [
      profileName,
      { profileName, targets: [target], totals: new Map(), scoresByScorer: new Map() },
    ]),
  );
  return {
    primaryProfileName,
    profileResults,
    primary: targets[primaryProfileName] as SchedulingEndpoint,
    fallbacks: [],
  };
}

/** Scores a cold request and records `target` as where it went. */
function sendCold(scorer: Scorer, endpoints: SchedulingEndpoint[], target: SchedulingEndpoint): void {
  const request = createSchedulingRequest();
  scorer.score(request, endpoints);
  scorer.preRequest(request, resultOf('default', { default: target }));
}

function scoresOf(scorer: Scorer, request: SchedulingRequest, endpoints: SchedulingEndpoint[]): number[] {
  const scores = scorer.score(request, endpoints);
  return endpoints.map((endpoint) => scores.get(endpoint) as number);
}

describe('no-hit-lru-scorer', () => {
  it('has llm-d defaults and requires the prefix match data of its producer', () => {
    expect(noHitLruScorerParameters.parse(undefined)).toEqual({
      lruSize: 1024,
      prefixMatchInfoProducerName: 'approx-prefix-cache-producer',
    });
    expect(scorerWith().consumes).toEqual({
      required: ['prefix-cache-match-info/approx-prefix-cache-producer'],
    });
    expect(scorerWith({ prefixMatchInfoProducerName: 'precise' }).consumes?.required).toEqual([
      prefixCacheMatchDataKey('precise'),
    ]);
    expect(scorerWith().category).toBe('Distribution');
  });

  it('scores every never-used endpoint 1 for a cold request (no match data at all counts as cold)', () => {
    const endpoints = [
      createTestSchedulingEndpoint(),
      createTestSchedulingEndpoint(),
      createTestSchedulingEndpoint(),
    ];
    expect(scoresOf(scorerWith(), createSchedulingRequest(), endpoints)).toEqual([1, 1, 1]);
  });

  it('ranks endpoints that took cold requests from least to most recently used after the never-used ones', () => {
    const scorer = scorerWith();
    const [a, b, c, d] = [
      createTestSchedulingEndpoint(),
      createTestSchedulingEndpoint(),
      createTestSchedulingEndpoint(),
      createTestSchedulingEndpoint(),
    ];
    const endpoints = [a, b, c, d];
    sendCold(scorer, endpoints, c);
    sendCold(scorer, endpoints, a);
    // b, d never used (1 each); c used before a: ranks 2 and 3 of n − 1 = 3.
    const [scoreA, scoreB, scoreC, scoreD] = scoresOf(scorer, createSchedulingRequest(), endpoints);
    expect([scoreA, scoreB, scoreD]).toEqual([0, 1, 1]);
    expect(scoreC).toBeCloseTo(1 / 3);
  });

  it('scores 0.5 everywhere for a warm request and does not record it', () => {
    const scorer = scorerWith();
    const [hit, miss] = [createTestSchedulingEndpoint(), createTestSchedulingEndpoint()];
    hit.attributes.set(approxMatch, { matchBlocks: 2, totalBlocks: 4, blockSizeTokens: 64 });
    miss.attributes.set(approxMatch, { matchBlocks: 0, totalBlocks: 4, blockSizeTokens: 64 });
    const warm = createSchedulingRequest();
    expect(scoresOf(scorer, warm, [hit, miss])).toEqual([0.5, 0.5]);
    scorer.preRequest(warm, resultOf('default', { default: hit }));
    const fresh = [
      createTestSchedulingEndpoint({ key: hit.endpoint.key }),
      createTestSchedulingEndpoint({ key: miss.endpoint.key }),
    ];
    expect(scoresOf(scorer, createSchedulingRequest(), fresh)).toEqual([1, 1]);
  });

  it('scores a single candidate 1 and no candidates not at all', () => {
    const scorer = scorerWith();
    const only = createTestSchedulingEndpoint();
    sendCold(scorer, [only], only);
    expect(scoresOf(scorer, createSchedulingRequest(), [only])).toEqual([1]);
    expect(scorer.score(createSchedulingRequest(), []).size).toBe(0);
  });

  it('also records the prefill profile target of a cold P/D request', () => {
    const scorer = scorerWith();
    const [decode, prefill, spare] = [
      createTestSchedulingEndpoint(),
      createTestSchedulingEndpoint(),
      createTestSchedulingEndpoint(),
    ];
    const request = createSchedulingRequest();
    scorer.score(request, [decode, prefill, spare]);
    scorer.preRequest(request, resultOf('decode', { decode, prefill }));
    expect(scoresOf(scorer, createSchedulingRequest(), [decode, prefill, spare])).toEqual([0.5, 0, 1]);
  });

  it('forgets the least recently used endpoint beyond lruSize', () => {
    const scorer = scorerWith({ lruSize: 2 });
    const endpoints = [0, 1, 2].map(() => createTestSchedulingEndpoint());
    for (const target of endpoints) sendCold(scorer, endpoints, target);
    expect(scoresOf(scorer, createSchedulingRequest(), endpoints)).toEqual([1, 0.5, 0]);
  });

  it('spreads cold requests over the pool when loaded from YAML', async () => {
    // Stand-in for a prefix-cache producer (another plugin): reports no hits, so every request is cold.
    const noHitsProducer = definePlugin({
      type: 'test-no-hits-prefix-producer',
      create: (_parameters, producerHandle) => ({
        produces: [prefixCacheMatchDataKey(producerHandle.name)],
        produce(_request, endpoints) {
          for (const candidate of endpoints) {
            candidate.attributes.set(prefixCacheMatchAttribute(producerHandle.name), {
              matchBlocks: 0,
              totalBlocks: 8,
              blockSizeTokens: 64,
            });
          }
        },
      }),
    });
    const scheduler = await createTestScheduler({
      plugins: [
        ...[noHitLruScorerPlugin].filter((definition) => !builtinPlugins.includes(definition)),
        noHitsProducer,
      ],
      random: () => 0,
      config: `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: test-no-hits-prefix-producer
  name: fixture-prefix
- type: no-hit-lru-scorer
  parameters:
    prefixMatchInfoProducerName: fixture-prefix
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: no-hit-lru-scorer
    weight: 2
`,
    });
    const pool = [1, 2, 3].map((index) => createTestEndpointState({ key: `10.9.0.${index}:8000` }));
    const chosen: string[] = [];
    for (let turn = 0; turn < 6; turn++) {
      const request = createSchedulingRequest();
      const outcome = await scheduler.schedule(request, pool);
      if (!outcome.ok) throw new Error(outcome.message);
      await scheduler.preRequest(request, outcome.result);
      chosen.push(outcome.result.primary.endpoint.key);
    }
    expect(new Set(chosen.slice(0, 3)).size).toBe(3);
    expect(chosen.slice(3)).toEqual(chosen.slice(0, 3));
  });

  it('rejects invalid parameters, naming the field path', async () => {
    const plugins = [noHitLruScorerPlugin].filter((definition) => !builtinPlugins.includes(definition));
    await expect(
      createTestScheduler({
        plugins,
        config: { plugins: [{ type: 'no-hit-lru-scorer', parameters: { lruSize: 0 } }] },
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters\.lruSize/);
  });
});
