import { noopLogger } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import type { PluginHandle } from '../../../plugin/define-plugin.js';
import type { ScorerPlugin } from '../../../plugin/plugin-interfaces.js';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import {
  createTestEndpointState,
  createTestScheduler,
  createTestSchedulingEndpoint,
} from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { loadAwareScorerParameters, loadAwareScorerPlugin } from './load-aware-scorer.js';

const handle: PluginHandle = {
  name: 'load-aware-scorer',
  logger: noopLogger,
  now: () => 0,
  random: () => 0,
  plugin: () => {
    throw new Error('no plugins in this test');
  },
  endpoints: () => [],
  endpoint: () => undefined,
};
const request = createSchedulingRequest();
const plugins = [loadAwareScorerPlugin].filter((definition) => !builtinPlugins.includes(definition));

function scorerWith(parameters: unknown): ScorerPlugin {
  return loadAwareScorerPlugin.create(loadAwareScorerParameters.parse(parameters), handle) as ScorerPlugin;
}

describe('load-aware-scorer', () => {
  it('defaults the threshold to 128', () => {
    expect(loadAwareScorerParameters.parse(undefined)).toEqual({ threshold: 128 });
    expect(loadAwareScorerParameters.parse({})).toEqual({ threshold: 128 });
  });

  it('scores an empty queue 0.5 and a queue q as 0.5 · (1 − min(q, threshold) / threshold)', () => {
    const scorer = scorerWith({ threshold: 10 });
    const withQueue = (waitingQueueSize: number) =>
      createTestSchedulingEndpoint({ metrics: { waitingQueueSize } });
    const empty = withQueue(0);
    const some = withQueue(4);
    const atThreshold = withQueue(10);
    const beyond = withQueue(50);
    const scores = scorer.score(request, [empty, some, atThreshold, beyond]);
    expect(scores.get(empty)).toBe(0.5);
    expect(scores.get(some)).toBeCloseTo(0.3);
    expect(scores.get(atThreshold)).toBe(0);
    expect(scores.get(beyond)).toBe(0);
    expect(scorer.category).toBe('Distribution');
  });

  it('is absolute, not relative: equal queues keep their value, no candidates give no scores', () => {
    const scorer = scorerWith({});
    const endpoints = [64, 64].map((waitingQueueSize) =>
      createTestSchedulingEndpoint({ metrics: { waitingQueueSize } }),
    );
    expect([...scorer.score(request, endpoints).values()]).toEqual([0.25, 0.25]);
    expect(scorer.score(request, []).size).toBe(0);
  });

  it('loads from YAML with a threshold and prefers the shorter queue', async () => {
    const scheduler = await createTestScheduler({
      plugins,
      random: () => 0,
      config: `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: load-aware-scorer
  parameters:
    threshold: 4
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: load-aware-scorer
`,
    });
    const long = createTestEndpointState({ key: '10.4.0.1:8000', metrics: { waitingQueueSize: 3 } });
    const short = createTestEndpointState({ key: '10.4.0.2:8000', metrics: { waitingQueueSize: 1 } });
    const outcome = await scheduler.schedule(createSchedulingRequest(), [long, short]);
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.result.primary.endpoint.key).toBe('10.4.0.2:8000');
    expect(outcome.result.profileResults.get('default')?.totals.get('10.4.0.1:8000')).toBeCloseTo(0.125);
  });

  it('rejects an invalid threshold and unknown fields, naming the field path', async () => {
    await expect(
      createTestScheduler({
        plugins,
        config: { plugins: [{ type: 'load-aware-scorer', parameters: { threshold: 0 } }] },
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters\.threshold/);
    await expect(
      createTestScheduler({
        plugins,
        config: { plugins: [{ type: 'load-aware-scorer', parameters: { queueThreshold: 5 } }] },
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters.*queueThreshold/);
  });
});
