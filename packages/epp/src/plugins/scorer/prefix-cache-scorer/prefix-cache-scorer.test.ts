import { afterEach, describe, expect, it } from 'vitest';
import { type PrefixCacheMatchInfo, prefixCacheMatchAttribute } from '../../../plugin/data-keys.js';
import type { PluginDefinition } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import type { Scheduler } from '../../../scheduling/scheduler.js';
import { createTestScheduler, createTestSchedulingEndpoint } from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { prefixPlugins } from '../../prefix-plugins.js';
import {
  prefixCacheScore,
  prefixCacheScorerParameters,
  prefixCacheScorerPlugin,
} from './prefix-cache-scorer.js';

// biome-ignore lint/suspicious/noExplicitAny: definitions of any parameter schema.
const extraPlugins: ReadonlyArray<PluginDefinition<any>> = prefixPlugins.filter(
  (definition) => !builtinPlugins.some((builtin) => builtin.type === definition.type),
);
const schedulers: Scheduler[] = [];
afterEach(async () => {
  for (const scheduler of schedulers.splice(0)) await scheduler.close();
});

const info = (matchBlocks: number, totalBlocks: number, blockSizeTokens = 64): PrefixCacheMatchInfo => ({
  matchBlocks,
  totalBlocks,
  blockSizeTokens,
});

function endpointWith(producer: string, match: PrefixCacheMatchInfo | undefined): SchedulingEndpoint {
  const endpoint = createTestSchedulingEndpoint();
  if (match) endpoint.attributes.set(prefixCacheMatchAttribute(producer), match);
  return endpoint;
}

describe('prefix-cache-scorer', () => {
  it('scores the matched share of the prompt by default', () => {
    const defaults = prefixCacheScorerParameters.parse({});
    expect(defaults).toEqual({
      matchLengthWeight: 0,
      matchLengthScaleTokens: 8192,
      prefixMatchInfoProducerName: 'approx-prefix-cache-producer',
    });
    expect(prefixCacheScore(info(3, 4), defaults)).toBe(0.75);
    expect(prefixCacheScore(info(0, 4), defaults)).toBe(0);
    expect(prefixCacheScore(info(4, 4), defaults)).toBe(1);
    // No data, or a prompt without blocks: nothing to prefer.
    expect(prefixCacheScore(undefined, defaults)).toBe(0);
    expect(prefixCacheScore(info(0, 0), defaults)).toBe(0);
  });

  it('mixes in the squared, saturating match length with matchLengthWeight', () => {
    const parameters = { matchLengthWeight: 0.5, matchLengthScaleTokens: 8192 };
    // 64 blocks × 64 tokens = 4096 tokens → (4096/8192)² = 0.25; ratio 64/128 = 0.5.
    expect(prefixCacheScore(info(64, 128), parameters)).toBeCloseTo(0.5 * 0.25 + 0.5 * 0.5);
    // A short prompt fully cached no longer beats a long one mostly cached.
    expect(prefixCacheScore(info(1, 1), parameters)).toBeCloseTo(0.5 * (64 / 8192) ** 2 + 0.5);
    expect(prefixCacheScore(info(200, 256), parameters)).toBeCloseTo(0.5 * 1 + 0.5 * (200 / 256));
    expect(prefixCacheScore(info(200, 256), { matchLengthWeight: 1, matchLengthScaleTokens: 8192 })).toBe(1);
  });

  it('reads the match data of the producer it names', () => {
    const scorer = prefixCacheScorerPlugin.create(
      prefixCacheScorerParameters.parse({ prefixMatchInfoProducerName: 'gpu' }),
      {} as never,
    );
    expect(scorer.consumes?.required).toEqual(['prefix-cache-match-info/gpu']);
    const fromGpu = endpointWith('gpu', info(1, 2));
    const fromOther = endpointWith('approx-prefix-cache-producer', info(2, 2));
    const scores = scorer.score?.(createSchedulingRequest(), [fromGpu, fromOther]);
    expect(scores?.get(fromGpu)).toBe(0.5);
    expect(scores?.get(fromOther)).toBe(0);
    expect(scorer.category).toBe('Affinity');
  });

  it('loads from YAML, gets the approximate producer injected, and names a bad parameter', async () => {
    const scheduler = await createTestScheduler({
      config: 'plugins:\n- type: prefix-cache-scorer\n  parameters: {matchLengthWeight: 0.3}\n',
      plugins: extraPlugins,
    });
    schedulers.push(scheduler);
    expect(scheduler.plugins.producers.map(({ plugin }) => plugin.name)).toEqual([
      'token-producer',
      'approx-prefix-cache-producer',
    ]);
    await expect(
      createTestScheduler({
        config: 'plugins:\n- type: prefix-cache-scorer\n  parameters: {matchLengthWeight: 2}\n',
        plugins: extraPlugins,
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters\.matchLengthWeight/);
    await expect(
      createTestScheduler({
        config: 'plugins:\n- type: prefix-cache-scorer\n  parameters: {maxPrefixBlocksToMatch: 2}\n',
        plugins: extraPlugins,
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters/);
    // A named producer that nobody configured is a startup error, not a silent zero.
    await expect(
      createTestScheduler({
        config:
          'plugins:\n- type: prefix-cache-scorer\n  parameters: {prefixMatchInfoProducerName: missing}\n',
        plugins: extraPlugins,
      }),
    ).rejects.toThrow(/prefix-cache-match-info\/missing/);
  });
});
