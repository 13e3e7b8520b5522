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
import { randomPickerParameters, randomPickerPlugin } from './random-picker.js';

const plugins = [randomPickerPlugin].filter((definition) => !builtinPlugins.includes(definition));
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
function handleWithRandom(random: () => number): PluginHandle {
  return {
    name: 'random-picker',
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
function create(parameters: unknown, random: () => number) {
  const behaviour = randomPickerPlugin.create(
    randomPickerParameters.parse(parameters),
    handleWithRandom(random),
  );
  if (!isPicker(behaviour)) throw new Error('not a picker');
  return behaviour;
}
const scored: ScoredEndpoint[] = ['10.0.8.1:8000', '10.0.8.2:8000', '10.0.8.3:8000'].map((key, index) => ({
  endpoint: createTestSchedulingEndpoint({ key }),
  score: index, // ignored by this picker
}));
const keysOf = (picked: ReadonlyArray<{ endpoint: { key: string } }>) =>
  picked.map((entry) => entry.endpoint.key);

describe('random-picker', () => {
  it('ignores scores and maps the random draw onto the candidates', () => {
    expect(keysOf(create({}, () => 0).pick(request, scored))).toEqual(['10.0.8.1:8000']);
    expect(keysOf(create({}, () => 0.999).pick(request, scored))).toEqual(['10.0.8.3:8000']);
  });

  it('returns maxNumOfEndpoints distinct endpoints, or all of them when fewer', () => {
    const random = seededRandom(7);
    for (let round = 0; round < 50; round++) {
      const two = keysOf(create({ maxNumOfEndpoints: 2 }, random).pick(request, scored));
      expect(new Set(two).size).toBe(2);
    }
    const five = keysOf(create({ maxNumOfEndpoints: 5 }, random).pick(request, scored));
    expect([...five].sort()).toEqual(['10.0.8.1:8000', '10.0.8.2:8000', '10.0.8.3:8000']);
    expect(create({ maxNumOfEndpoints: 2 }, random).pick(request, [])).toEqual([]);
    expect(create({}, random).pick(request, [])).toEqual([]);
  });

  it('is uniform', () => {
    const picker = create({}, seededRandom(42));
    const counts = new Map<string, number>();
    const draws = 30_000;
    for (let round = 0; round < draws; round++) {
      const [key] = keysOf(picker.pick(request, scored));
      counts.set(key as string, (counts.get(key as string) ?? 0) + 1);
    }
    for (const count of counts.values()) expect(count / draws).toBeCloseTo(1 / 3, 1);
    // Every position is equally likely to be the primary when several are returned, too.
    const firsts = new Map<string, number>();
    const multi = create({ maxNumOfEndpoints: 2 }, seededRandom(43));
    for (let round = 0; round < draws; round++) {
      const [key] = keysOf(multi.pick(request, scored));
      firsts.set(key as string, (firsts.get(key as string) ?? 0) + 1);
    }
    for (const count of firsts.values()) expect(count / draws).toBeCloseTo(1 / 3, 1);
  });

  it('loads from YAML and names invalid parameters', async () => {
    const scheduler = await createTestScheduler({
      plugins,
      random: seededRandom(1),
      config: `
plugins:
- { type: random-picker, parameters: { maxNumOfEndpoints: 2 } }
schedulingProfiles:
- name: default
  plugins: [{ pluginRef: random-picker }]
`,
    });
    const endpoints = [
      createTestEndpointState({ key: '10.0.8.5:8000' }),
      createTestEndpointState({ key: '10.0.8.6:8000' }),
    ];
    const outcome = await scheduler.schedule(createSchedulingRequest(), endpoints);
    if (!outcome.ok) throw new Error(outcome.message);
    expect(
      [outcome.result.primary, ...outcome.result.fallbacks].map((entry) => entry.endpoint.key).sort(),
    ).toEqual(['10.0.8.5:8000', '10.0.8.6:8000']);
    await expect(
      createTestScheduler({
        plugins,
        config: 'plugins: [{ type: random-picker, parameters: { maxNumOfEndpoints: 0 } }]',
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters\.maxNumOfEndpoints/);
  });
});
