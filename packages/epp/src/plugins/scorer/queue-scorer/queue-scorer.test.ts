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
import { queueScorerPlugin } from './queue-scorer.js';

const handle: PluginHandle = {
  name: 'queue-scorer',
  logger: noopLogger,
  now: () => 0,
  random: () => 0,
  plugin: () => {
    throw new Error('no plugins in this test');
  },
  endpoints: () => [],
  endpoint: () => undefined,
};
const scorer = queueScorerPlugin.create(undefined, handle) as ScorerPlugin;
const request = createSchedulingRequest();
// The group may already be registered as built-ins; register only what is missing.
const plugins = [queueScorerPlugin].filter((definition) => !builtinPlugins.includes(definition));

describe('queue-scorer', () => {
  it('min-max normalises the waiting queue: shortest 1, longest 0', () => {
    const short = createTestSchedulingEndpoint({ metrics: { waitingQueueSize: 0 } });
    const middle = createTestSchedulingEndpoint({ metrics: { waitingQueueSize: 5 } });
    const long = createTestSchedulingEndpoint({ metrics: { waitingQueueSize: 10 } });
    const scores = scorer.score(request, [short, middle, long]);
    expect(scores.get(short)).toBe(1);
    expect(scores.get(middle)).toBe(0.5);
    expect(scores.get(long)).toBe(0);
    expect(scorer.category).toBe('Distribution');
  });

  it('scores 1 everywhere when all queues are equal', () => {
    const endpoints = [3, 3, 3].map((waitingQueueSize) =>
      createTestSchedulingEndpoint({ metrics: { waitingQueueSize } }),
    );
    expect([...scorer.score(request, endpoints).values()]).toEqual([1, 1, 1]);
  });

  it('returns no scores for no candidates', () => {
    expect(scorer.score(request, []).size).toBe(0);
  });

  it('leaves never-scraped endpoints unscored and out of the range', () => {
    const unknown = createTestSchedulingEndpoint({ metrics: { waitingQueueSize: 100, updateTime: 0 } });
    const idle = createTestSchedulingEndpoint({ metrics: { waitingQueueSize: 2 } });
    const busy = createTestSchedulingEndpoint({ metrics: { waitingQueueSize: 4 } });
    const scores = scorer.score(request, [unknown, idle, busy]);
    expect(scores.has(unknown)).toBe(false);
    expect(scores.get(idle)).toBe(1);
    expect(scores.get(busy)).toBe(0);
  });

  it('routes to the shortest queue when loaded from YAML with a weight', async () => {
    const scheduler = await createTestScheduler({
      plugins,
      random: () => 0,
      config: `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
    weight: 2
`,
    });
    const busy = createTestEndpointState({ key: '10.1.0.1:8000', metrics: { waitingQueueSize: 8 } });
    const idle = createTestEndpointState({ key: '10.1.0.2:8000', metrics: { waitingQueueSize: 0 } });
    const outcome = await scheduler.schedule(createSchedulingRequest(), [busy, idle]);
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.result.primary.endpoint.key).toBe('10.1.0.2:8000');
    expect(outcome.result.profileResults.get('default')?.totals.get('10.1.0.2:8000')).toBe(2);
    expect(outcome.result.profileResults.get('default')?.totals.get('10.1.0.1:8000')).toBe(0);
  });

  it('rejects parameters, naming the field path', async () => {
    await expect(
      createTestScheduler({
        plugins,
        config: { plugins: [{ type: 'queue-scorer', parameters: { threshold: 3 } }] },
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters: plugin type "queue-scorer" takes no parameters/);
  });
});
