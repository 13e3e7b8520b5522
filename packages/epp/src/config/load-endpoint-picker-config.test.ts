import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { definePlugin } from '../plugin/define-plugin.js';
import { createPluginRegistry } from '../plugin/plugin-registry.js';
import { builtinPlugins } from '../plugins/builtin-plugins.js';
import { loadEndpointPickerConfig } from './load-endpoint-picker-config.js';

const constantScorer = definePlugin({
  type: 'constant-scorer',
  parameters: z
    .object({ value: z.number().min(0).max(1).default(1) })
    .strict()
    .default({ value: 1 }),
  create: ({ value }) => ({
    score: (_request, endpoints) => new Map(endpoints.map((endpoint) => [endpoint, value])),
  }),
});
const producerA = definePlugin({
  type: 'producer-a',
  defaultProducerFor: ['data-a'],
  create: () => ({ produces: ['data-a'], produce: () => {} }),
});
const consumerOfA = definePlugin({
  type: 'consumer-of-a',
  create: () => ({ consumes: { required: ['data-a'] }, score: () => new Map() }),
});
const cyclicOne = definePlugin({
  type: 'cyclic-one',
  create: () => ({ produces: ['one'], consumes: { required: ['two'] }, produce: () => {} }),
});
const cyclicTwo = definePlugin({
  type: 'cyclic-two',
  create: () => ({ produces: ['two'], consumes: { required: ['one'] }, produce: () => {} }),
});
const alphaScorer = definePlugin({
  type: 'alpha-scorer',
  stability: 'Alpha',
  create: () => ({ score: () => new Map() }),
});

const registry = createPluginRegistry([
  ...builtinPlugins,
  constantScorer,
  producerA,
  consumerOfA,
  cyclicOne,
  cyclicTwo,
  alphaScorer,
]);
const load = (text: string, allowExperimentalPlugins = false) =>
  loadEndpointPickerConfig({ text, registry, allowExperimentalPlugins });

describe('loadEndpointPickerConfig', () => {
  it('injects the single-profile handler, the max-score picker and the utilization detector', async () => {
    const loaded = await load(`
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: constant-scorer
  parameters: { value: 0.5 }
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: constant-scorer
    weight: 3
`);
    const profile = loaded.plugins.profiles.get('default');
    expect(profile?.scorers.map((scorer) => [scorer.plugin.name, scorer.weight])).toEqual([
      ['constant-scorer', 3],
    ]);
    expect(profile?.picker.plugin.type).toBe('max-score-picker');
    expect(loaded.plugins.profileHandler.plugin.type).toBe('single-profile-handler');
    expect(loaded.plugins.saturationDetector.plugin.type).toBe('utilization-detector');
  });

  it('defaults a profile weight to 1 and builds a default profile when none is given', async () => {
    const loaded = await load('plugins:\n- type: constant-scorer\n');
    expect(loaded.plugins.profiles.get('default')?.scorers[0]?.weight).toBe(1);
  });

  it('names the unknown plugin type and its path', async () => {
    await expect(load('plugins:\n- type: constant-scorer\n- type: made-up-scorer\n')).rejects.toThrow(
      /plugins\[1\]\.type: unknown plugin type "made-up-scorer"/,
    );
  });

  it('rejects unknown parameters with the field path', async () => {
    const error = await load(
      'plugins:\n- type: constant-scorer\n  parameters: { value: 0.5, valu: 1 }\n',
    ).catch((caught) => caught);
    expect(error.code).toBe('invalid_config');
    expect(error.message).toMatch(/^instantiate phase: plugins\[0\]\.parameters/);
    expect(error.message).toMatch(/valu/);
  });

  it('rejects a parameter of the wrong type with its path', async () => {
    await expect(load('plugins:\n- type: constant-scorer\n  parameters: { value: 7 }\n')).rejects.toThrow(
      /plugins\[0\]\.parameters\.value/,
    );
  });

  it('rejects unknown top-level fields and names them (decode phase)', async () => {
    await expect(load('plugins: []\nschedulingProfile: []\n')).rejects.toThrow(
      /^decode phase: .*schedulingProfile/,
    );
  });

  it('names an unknown profile reference', async () => {
    await expect(
      load(
        'plugins:\n- type: constant-scorer\nschedulingProfiles:\n- name: a\n  plugins:\n  - pluginRef: nope\n',
      ),
    ).rejects.toThrow(/schedulingProfiles\[0\]\.plugins\[0\]\.pluginRef: unknown plugin "nope"/);
  });

  it('rejects a second picker in one profile', async () => {
    await expect(
      load(`
plugins:
- type: max-score-picker
- name: other-picker
  type: max-score-picker
schedulingProfiles:
- name: a
  plugins: [{ pluginRef: max-score-picker }, { pluginRef: other-picker }]
`),
    ).rejects.toThrow(/second picker "other-picker"/);
  });

  it('requires a profile handler when there are several profiles', async () => {
    await expect(
      load(`
plugins: [{ type: constant-scorer }]
schedulingProfiles:
- { name: a, plugins: [{ pluginRef: constant-scorer }] }
- { name: b, plugins: [{ pluginRef: constant-scorer }] }
`),
    ).rejects.toThrow(/2 profiles need a profile handler/);
  });

  it('creates a default producer for a required data key and orders it first', async () => {
    const loaded = await load('plugins:\n- type: consumer-of-a\n');
    expect(loaded.plugins.producers.map((producer) => producer.plugin.type)).toEqual(['producer-a']);
  });

  it('refuses a dependency cycle between producers', async () => {
    await expect(load('plugins:\n- type: cyclic-one\n- type: cyclic-two\n')).rejects.toThrow(/cycle/);
  });

  it('refuses Alpha plugins unless experimental plugins are allowed', async () => {
    await expect(load('plugins: [{ type: alpha-scorer }]')).rejects.toThrow(/--allow-experimental-plugins/);
    await expect(load('plugins: [{ type: alpha-scorer }]', true)).resolves.toBeDefined();
  });

  it('validates feature gates', async () => {
    const loaded = await load('featureGates: [flowControl]\nplugins: [{ type: constant-scorer }]\n');
    expect(loaded.featureGates.flowControl).toBe(true);
    await expect(load('featureGates: [warpDrive]\n')).rejects.toThrow(
      /featureGates\[0\]: unknown feature gate "warpDrive"/,
    );
  });

  it('reports YAML syntax errors in the decode phase', async () => {
    await expect(load('plugins: [\n')).rejects.toThrow(/^decode phase: config is not valid YAML/);
  });

  it('refuses a duplicate plugin name', async () => {
    await expect(load('plugins:\n- type: constant-scorer\n- type: constant-scorer\n')).rejects.toThrow(
      /plugins\[1\]\.name: plugin name "constant-scorer" is used twice/,
    );
  });
});
