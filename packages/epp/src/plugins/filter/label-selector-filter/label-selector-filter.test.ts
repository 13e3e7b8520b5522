import { describe, expect, it } from 'vitest';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import {
  createTestEndpointState,
  createTestScheduler,
  createTestSchedulingEndpoint,
} from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { byLabelSelectorPlugin } from '../by-label-selector/by-label-selector.js';
import { labelSelectorFilterParameters, labelSelectorFilterPlugin } from './label-selector-filter.js';

// Register only what the built-in list does not already contain (it will once routingPlugins is added).
const plugins = [labelSelectorFilterPlugin, byLabelSelectorPlugin].filter(
  (definition) => !builtinPlugins.includes(definition),
);

const request = createSchedulingRequest();
const h100Decode = createTestSchedulingEndpoint({
  key: '10.0.0.1:8000',
  labels: { role: 'decode', gpu: 'H100' },
});
const a100Decode = createTestSchedulingEndpoint({
  key: '10.0.0.2:8000',
  labels: { role: 'decode', gpu: 'A100' },
});
const h100Prefill = createTestSchedulingEndpoint({
  key: '10.0.0.3:8000',
  labels: { role: 'prefill', gpu: 'H100' },
});
const unlabelled = createTestSchedulingEndpoint({ key: '10.0.0.4:8000' });
const all = [h100Decode, a100Decode, h100Prefill, unlabelled];

function keptKeys(parameters: unknown): string[] {
  const filter = labelSelectorFilterPlugin.create(
    labelSelectorFilterParameters.parse(parameters),
    undefined as never,
  );
  return (filter.filter?.(request, all) ?? []).map((candidate) => candidate.endpoint.key);
}

describe('label-selector-filter', () => {
  it('requires every matchLabels pair (AND)', () => {
    expect(keptKeys({ matchLabels: { role: 'decode', gpu: 'H100' } })).toEqual(['10.0.0.1:8000']);
  });

  it('implements the Kubernetes operators, NotIn admitting unlabelled endpoints', () => {
    expect(keptKeys({ matchExpressions: [{ key: 'gpu', operator: 'In', values: ['A100', 'L4'] }] })).toEqual([
      '10.0.0.2:8000',
    ]);
    expect(keptKeys({ matchExpressions: [{ key: 'role', operator: 'NotIn', values: ['prefill'] }] })).toEqual(
      ['10.0.0.1:8000', '10.0.0.2:8000', '10.0.0.4:8000'],
    );
    expect(keptKeys({ matchExpressions: [{ key: 'gpu', operator: 'Exists' }] })).toEqual([
      '10.0.0.1:8000',
      '10.0.0.2:8000',
      '10.0.0.3:8000',
    ]);
    expect(keptKeys({ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] })).toEqual([
      '10.0.0.4:8000',
    ]);
  });

  it('combines matchLabels and matchExpressions', () => {
    expect(
      keptKeys({
        matchLabels: { gpu: 'H100' },
        matchExpressions: [{ key: 'role', operator: 'In', values: ['prefill'] }],
      }),
    ).toEqual(['10.0.0.3:8000']);
  });

  it('keeps everything with an empty selector and returns nothing for no candidates', () => {
    expect(keptKeys({})).toHaveLength(4);
    const filter = labelSelectorFilterPlugin.create(
      labelSelectorFilterParameters.parse({}),
      undefined as never,
    );
    expect(filter.filter?.(request, [])).toEqual([]);
  });

  it('treats a label with an empty value as present', () => {
    const emptyValue = createTestSchedulingEndpoint({ key: '10.0.0.9:8000', labels: { gpu: '' } });
    const filter = labelSelectorFilterPlugin.create(
      labelSelectorFilterParameters.parse({ matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }),
      undefined as never,
    );
    expect(filter.filter?.(request, [emptyValue, unlabelled])).toEqual([emptyValue]);
  });

  it('routes through a YAML-configured profile', async () => {
    const scheduler = await createTestScheduler({
      plugins,
      config: `
plugins:
- type: label-selector-filter
  parameters:
    matchLabels: { gpu: A100 }
schedulingProfiles:
- name: default
  plugins: [{ pluginRef: label-selector-filter }]
`,
    });
    const endpoints = [
      createTestEndpointState({ key: '10.0.1.1:8000', labels: { gpu: 'H100' } }),
      createTestEndpointState({ key: '10.0.1.2:8000', labels: { gpu: 'A100' } }),
    ];
    for (let round = 0; round < 5; round++) {
      const outcome = await scheduler.schedule(createSchedulingRequest(), endpoints);
      expect(outcome.ok && outcome.result.primary.endpoint.key).toBe('10.0.1.2:8000');
    }
  });

  it('names the offending parameter path', async () => {
    await expect(
      createTestScheduler({
        plugins,
        config: `
plugins:
- type: label-selector-filter
  parameters:
    matchExpressions: [{ key: gpu, operator: In }]
`,
      }),
    ).rejects.toThrow(
      /plugins\[0\]\.parameters\.matchExpressions\[0\]\.values: operator In needs at least one value/,
    );
    await expect(
      createTestScheduler({
        plugins,
        config:
          'plugins: [{ type: label-selector-filter, parameters: { matchExpressions: [{ key: gpu, operator: Equals }] } }]',
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters\.matchExpressions\[0\]\.operator/);
    await expect(
      createTestScheduler({
        plugins,
        config:
          'plugins: [{ type: label-selector-filter, parameters: { selector: { matchLabels: { a: b } } } }]',
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters/);
  });
});
