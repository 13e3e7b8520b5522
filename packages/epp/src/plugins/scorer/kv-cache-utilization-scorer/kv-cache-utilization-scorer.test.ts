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
import { kvCacheUtilizationScorerPlugin } from './kv-cache-utilization-scorer.js';

const handle: PluginHandle = {
  name: 'kv-cache-utilization-scorer',
  logger: noopLogger,
  now: () => 0,
  random: () => 0,
  plugin: () => {
    throw new Error('no plugins in this test');
  },
  endpoints: () => [],
  endpoint: () => undefined,
};
const scorer = kvCacheUtilizationScorerPlugin.create(undefined, handle) as ScorerPlugin;
const request = createSchedulingRequest();
const plugins = [kvCacheUtilizationScorerPlugin].filter((definition) => !builtinPlugins.includes(definition));

describe('kv-cache-utilization-scorer', () => {
  it('scores 1 − KV-cache usage', () => {
    const empty = createTestSchedulingEndpoint({ metrics: { kvCacheUsagePercent: 0 } });
    const quarter = createTestSchedulingEndpoint({ metrics: { kvCacheUsagePercent: 0.25 } });
    const full = createTestSchedulingEndpoint({ metrics: { kvCacheUsagePercent: 1 } });
    const scores = scorer.score(request, [empty, quarter, full]);
    expect(scores.get(empty)).toBe(1);
    expect(scores.get(quarter)).toBe(0.75);
    expect(scores.get(full)).toBe(0);
    expect(scorer.category).toBe('Distribution');
  });

  it('keeps scores in [0, 1] for out-of-range usage and leaves never-scraped endpoints unscored', () => {
    const over = createTestSchedulingEndpoint({ metrics: { kvCacheUsagePercent: 1.2 } });
    const unknown = createTestSchedulingEndpoint({ metrics: { kvCacheUsagePercent: 0, updateTime: 0 } });
    const scores = scorer.score(request, [over, unknown]);
    expect(scores.get(over)).toBe(0);
    expect(scores.has(unknown)).toBe(false);
    expect(scorer.score(request, []).size).toBe(0);
  });

  it('routes to the emptiest KV cache when loaded from YAML', async () => {
    const scheduler = await createTestScheduler({
      plugins,
      random: () => 0,
      config: `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: kv-cache-utilization-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: kv-cache-utilization-scorer
    weight: 2
`,
    });
    const full = createTestEndpointState({ key: '10.3.0.1:8000', metrics: { kvCacheUsagePercent: 0.9 } });
    const free = createTestEndpointState({ key: '10.3.0.2:8000', metrics: { kvCacheUsagePercent: 0.1 } });
    const outcome = await scheduler.schedule(createSchedulingRequest(), [full, free]);
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.result.primary.endpoint.key).toBe('10.3.0.2:8000');
    expect(outcome.result.profileResults.get('default')?.totals.get('10.3.0.2:8000')).toBeCloseTo(1.8);
  });

  it('rejects parameters, naming the field path', async () => {
    await expect(
      createTestScheduler({
        plugins,
        config: { plugins: [{ type: 'kv-cache-utilization-scorer', parameters: { y: 1 } }] },
      }),
    ).rejects.toThrow(
      /plugins\[0\]\.parameters: plugin type "kv-cache-utilization-scorer" takes no parameters/,
    );
  });
});
