import { noopLogger } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import type { PluginHandle } from '../../../plugin/define-plugin.js';
import { isPicker, type ScoredEndpoint } from '../../../plugin/plugin-interfaces.js';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import {
  createTestEndpointState,
  createTestScheduler,
  createTestSchedulingEndpoint,
} from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { weightedRandomPickerParameters, weightedRandomPickerPlugin } from './weighted-random-picker.js';

const plugins = [weightedRandomPickerPlugin].filter((definition) => !builtinPlugins.includes(definition));
const request = createSchedulingRequest();

/** Small seeded PRNG (mulberry32) so distribution checks are deterministic. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}
/** Replays the given draws in order, then repeats the last. */
function draws(...values: number[]): () => number {
  let index = 0;
  return () => values[Math.min(index++, values.length - 1)] as number;
}
function create(parameters: unknown, random: () => number) {
  const handle: PluginHandle = {
    name: 'weighted-random-picker',
    logger: noopLogger,
    now: () => 0,
    random,
    plugin: (name) => {
      throw new Error(`no plugin ${name}`);
    },
    endpoints: () => [],
    endpoint: () => undefined,
  };
  const behaviour = weightedRandomPickerPlugin.create(
    weightedRandomPickerParameters.parse(parameters),
    handle,
  );
  if (!isPicker(behaviour)) throw new Error('not a picker');
  return behaviour;
}
function scoredEndpoints(scores: ReadonlyArray<number>): ScoredEndpoint[] {
  return scores.map((score, index) => ({
    endpoint: createTestSchedulingEndpoint({ key: `10.0.9.${index + 1}:8000` }),
    score,
  }));
}
const keysOf = (picked: ReadonlyArray<{ endpoint: { key: string } }>) =>
  picked.map((entry) => entry.endpoint.key);

function firstPickShares(scores: ReadonlyArray<number>, maxNumOfEndpoints: number, rounds: number): number[] {
  const scored = scoredEndpoints(scores);
  const picker = create({ maxNumOfEndpoints }, seededRandom(2024));
  const counts = scores.map(() => 0);
  for (let round = 0; round < rounds; round++) {
    const [first] = keysOf(picker.pick(request, scored));
    const index = scored.findIndex((entry) => entry.endpoint.endpoint.key === first);
    counts[index] = (counts[index] as number) + 1;
  }
  return counts.map((count) => count / rounds);
}

describe('weighted-random-picker', () => {
  it('uses the A-Res key U^(1/score): the largest key wins', () => {
    // Same draw 0.5 for both: keys 0.5 and 0.5^(1/3) ≈ 0.79, so the higher score wins.
    expect(keysOf(create({}, draws(0.5, 0.5)).pick(request, scoredEndpoints([1, 3])))).toEqual([
      '10.0.9.2:8000',
    ]);
    // 0.9^(1/1) = 0.9 beats 0.2^(1/3) ≈ 0.58: a low score can still win.
    expect(keysOf(create({}, draws(0.9, 0.2)).pick(request, scoredEndpoints([1, 3])))).toEqual([
      '10.0.9.1:8000',
    ]);
  });

  it('picks first with probability proportional to the score', () => {
    const shares = firstPickShares([1, 2, 3], 1, 30_000);
    expect(shares[0]).toBeCloseTo(1 / 6, 1);
    expect(shares[1]).toBeCloseTo(2 / 6, 1);
    expect(shares[2]).toBeCloseTo(3 / 6, 1);
    // Same first-pick distribution when fallbacks are requested.
    const multi = firstPickShares([1, 2, 3], 3, 30_000);
    expect(multi[2]).toBeCloseTo(3 / 6, 1);
  });

  it('never picks a zero score first while a positive one exists, but uses it to fill slots', () => {
    const scored = scoredEndpoints([0, 0.5, 0]);
    const random = seededRandom(5);
    for (let round = 0; round < 100; round++) {
      expect(keysOf(create({}, random).pick(request, scored))).toEqual(['10.0.9.2:8000']);
      const three = keysOf(create({ maxNumOfEndpoints: 3 }, random).pick(request, scored));
      expect(three[0]).toBe('10.0.9.2:8000');
      expect([...three].sort()).toEqual(['10.0.9.1:8000', '10.0.9.2:8000', '10.0.9.3:8000']);
    }
  });

  it('falls back to uniform when no score is above 0', () => {
    const shares = firstPickShares([0, 0, 0, 0], 1, 20_000);
    for (const share of shares) expect(share).toBeCloseTo(1 / 4, 1);
    expect(create({}, seededRandom(1)).pick(request, [])).toEqual([]);
  });

  it('survives a draw of exactly 0', () => {
    expect(keysOf(create({}, draws(0, 0.5)).pick(request, scoredEndpoints([1, 1])))).toEqual([
      '10.0.9.2:8000',
    ]);
  });

  it('loads from YAML and names invalid parameters', async () => {
    const scheduler = await createTestScheduler({
      plugins,
      random: seededRandom(3),
      config: `
plugins:
- { type: weighted-random-picker, parameters: { maxNumOfEndpoints: 2 } }
schedulingProfiles:
- name: default
  plugins: [{ pluginRef: weighted-random-picker }]
`,
    });
    const endpoints = [
      createTestEndpointState({ key: '10.0.9.5:8000' }),
      createTestEndpointState({ key: '10.0.9.6:8000' }),
    ];
    const outcome = await scheduler.schedule(createSchedulingRequest(), endpoints);
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.result.fallbacks).toHaveLength(1);
    await expect(
      createTestScheduler({
        plugins,
        config: 'plugins: [{ type: weighted-random-picker, parameters: { maxNumOfEndpoints: 1.5 } }]',
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters\.maxNumOfEndpoints/);
  });
});
