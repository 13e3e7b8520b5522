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
import { runningRequestsSizeScorerPlugin } from './running-requests-size-scorer.js';

const handle: PluginHandle = {
  name: 'running-requests-size-scorer',
  logger: noopLogger,
  now: () => 0,
  random: () => 0,
  plugin: () => {
    throw new Error('no plugins in this test');
  },
  endpoints: () => [],
  endpoint: () => undefined,
};
const scorer = runningRequestsSizeScorerPlugin.create(undefined, handle) as ScorerPlugin;
const request = createSchedulingRequest();
const plugins = [runningRequestsSizeScorerPlugin].filter(
  (definition) => !builtinPlugins.includes(definition),
);

describe('running-requests-size-scorer', () => {
  it('min-max normalises running requests: fewest 1, most 0', () => {
    const withRunning = (runningRequestsSize: number) =>
      createTestSchedulingEndpoint({ metrics: { runningRequestsSize } });
    const few = withRunning(2);
    const some = withRunning(4);
    const many = withRunning(10);
    const scores = scorer.score(request, [few, some, many]);
    expect(scores.get(few)).toBe(1);
    expect(scores.get(some)).toBe(0.75);
    expect(scores.get(many)).toBe(0);
    expect(scorer.category).toBe('Distribution');
  });

  it('scores 1 everywhere when all are equal, nothing for no candidates', () => {
    const endpoints = [7, 7].map((runningRequestsSize) =>
      createTestSchedulingEndpoint({ metrics: { runningRequestsSize } }),
    );
    expect([...scorer.score(request, endpoints).values()]).toEqual([1, 1]);
    expect(scorer.score(request, []).size).toBe(0);
  });

  it('leaves never-scraped endpoints unscored', () => {
    const unknown = createTestSchedulingEndpoint({ metrics: { runningRequestsSize: 0, updateTime: 0 } });
    const known = createTestSchedulingEndpoint({ metrics: { runningRequestsSize: 9 } });
    const scores = scorer.score(request, [unknown, known]);
    expect(scores.has(unknown)).toBe(false);
    expect(scores.get(known)).toBe(1);
  });

  it('routes to the endpoint running fewer requests when loaded from YAML', async () => {
    const scheduler = await createTestScheduler({
      plugins,
      random: () => 0,
      config: `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: running-requests-size-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: running-requests-size-scorer
`,
    });
    const busy = createTestEndpointState({ key: '10.2.0.1:8000', metrics: { runningRequestsSize: 30 } });
    const quiet = createTestEndpointState({ key: '10.2.0.2:8000', metrics: { runningRequestsSize: 3 } });
    const outcome = await scheduler.schedule(createSchedulingRequest(), [busy, quiet]);
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.result.primary.endpoint.key).toBe('10.2.0.2:8000');
  });

  it('rejects parameters, naming the field path', async () => {
    await expect(
      createTestScheduler({
        plugins,
        config: { plugins: [{ type: 'running-requests-size-scorer', parameters: { x: 1 } }] },
      }),
    ).rejects.toThrow(
      /plugins\[0\]\.parameters: plugin type "running-requests-size-scorer" takes no parameters/,
    );
  });
});
