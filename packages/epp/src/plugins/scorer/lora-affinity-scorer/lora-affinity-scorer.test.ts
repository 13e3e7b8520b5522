import { noopLogger } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import type { PluginHandle } from '../../../plugin/define-plugin.js';
import type { EndpointMetrics } from '../../../plugin/endpoint-state.js';
import type { ScorerPlugin } from '../../../plugin/plugin-interfaces.js';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import {
  createTestEndpointState,
  createTestScheduler,
  createTestSchedulingEndpoint,
} from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { loraAffinityScorerPlugin } from './lora-affinity-scorer.js';

const handle: PluginHandle = {
  name: 'lora-affinity-scorer',
  logger: noopLogger,
  now: () => 0,
  random: () => 0,
  plugin: () => {
    throw new Error('no plugins in this test');
  },
  endpoints: () => [],
  endpoint: () => undefined,
};
const scorer = loraAffinityScorerPlugin.create(undefined, handle) as ScorerPlugin;
const plugins = [loraAffinityScorerPlugin].filter((definition) => !builtinPlugins.includes(definition));
const adapterRequest = createSchedulingRequest({ model: 'sql-lora', targetModel: 'sql-lora' });

function engine(metrics: Partial<EndpointMetrics>) {
  return createTestSchedulingEndpoint({ metrics });
}

describe('lora-affinity-scorer', () => {
  it('scores active 1.0, free slot 0.8, queued 0.6, full 0', () => {
    const active = engine({ activeModels: ['sql-lora', 'other'], maxActiveModels: 2 });
    const room = engine({ activeModels: ['other'], waitingModels: [], maxActiveModels: 4 });
    const waiting = engine({ activeModels: ['a', 'b'], waitingModels: ['sql-lora'], maxActiveModels: 2 });
    const full = engine({ activeModels: ['a', 'b'], waitingModels: [], maxActiveModels: 2 });
    const scores = scorer.score(adapterRequest, [active, room, waiting, full]);
    expect(scores.get(active)).toBe(1);
    expect(scores.get(room)).toBe(0.8);
    expect(scores.get(waiting)).toBe(0.6);
    expect(scores.get(full)).toBe(0);
    expect(scorer.category).toBe('Affinity');
  });

  it('prefers a free slot over joining the load queue (llm-d order)', () => {
    const queuedWithRoom = engine({ activeModels: [], waitingModels: ['sql-lora'], maxActiveModels: 4 });
    expect(scorer.score(adapterRequest, [queuedWithRoom]).get(queuedWithRoom)).toBe(0.8);
  });

  it('scores an adapter request 0 on engines without LoRA capacity when others track adapters', () => {
    const loraOff = engine({ maxActiveModels: 0 });
    const loraOn = engine({ activeModels: ['sql-lora'], maxActiveModels: 2 });
    const scores = scorer.score(adapterRequest, [loraOff, loraOn]);
    expect(scores.get(loraOff)).toBe(0);
    expect(scores.get(loraOn)).toBe(1);
  });

  it('scores base-model requests 1 everywhere when no candidate tracks adapters', () => {
    const endpoints = [engine({}), engine({})];
    const baseRequest = createSchedulingRequest({ model: 'Qwen/Qwen3-8B' });
    expect([...scorer.score(baseRequest, endpoints).values()]).toEqual([1, 1]);
    expect(scorer.score(baseRequest, []).size).toBe(0);
  });

  it('routes an adapter request to the engine that has it loaded when loaded from YAML', async () => {
    const scheduler = await createTestScheduler({
      plugins,
      random: () => 0,
      config: `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: lora-affinity-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: lora-affinity-scorer
`,
    });
    const cold = createTestEndpointState({
      key: '10.5.0.1:8000',
      metrics: { activeModels: ['x', 'y'], maxActiveModels: 2 },
    });
    const warm = createTestEndpointState({
      key: '10.5.0.2:8000',
      metrics: { activeModels: ['sql-lora'], maxActiveModels: 2 },
    });
    const outcome = await scheduler.schedule(adapterRequest, [cold, warm]);
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.result.primary.endpoint.key).toBe('10.5.0.2:8000');
  });

  it('rejects parameters, naming the field path', async () => {
    await expect(
      createTestScheduler({
        plugins,
        config: { plugins: [{ type: 'lora-affinity-scorer', parameters: { maxLora: 4 } }] },
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters: plugin type "lora-affinity-scorer" takes no parameters/);
  });
});
