import { describe, expect, it } from 'vitest';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import {
  createTestEndpointState,
  createTestScheduler,
  createTestSchedulingEndpoint,
} from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { byLabelParameters, byLabelPlugin, createLabelValueFilter } from './by-label.js';

const plugins = [byLabelPlugin].filter((definition) => !builtinPlugins.includes(definition));
const request = createSchedulingRequest();
const fast = createTestSchedulingEndpoint({ key: '10.0.3.1:8000', labels: { tier: 'fast' } });
const slow = createTestSchedulingEndpoint({ key: '10.0.3.2:8000', labels: { tier: 'slow' } });
const empty = createTestSchedulingEndpoint({ key: '10.0.3.3:8000', labels: { tier: '' } });
const none = createTestSchedulingEndpoint({ key: '10.0.3.4:8000' });
const all = [fast, slow, empty, none];

describe('by-label (deprecated)', () => {
  it('keeps endpoints whose label value is valid', () => {
    expect(createLabelValueFilter('tier', ['fast'], false).filter(request, all)).toEqual([fast]);
    expect(createLabelValueFilter('tier', ['fast', 'slow'], false).filter(request, all)).toEqual([
      fast,
      slow,
    ]);
  });

  it('keeps unlabelled endpoints only with allowsNoLabel', () => {
    expect(createLabelValueFilter('tier', ['fast'], true).filter(request, all)).toEqual([fast, none]);
  });

  it('reads a missing label as "" like llm-d', () => {
    expect(createLabelValueFilter('tier', [''], false).filter(request, all)).toEqual([empty, none]);
  });

  it('has llm-d defaults and requires a label', () => {
    expect(byLabelParameters.parse({ label: 'tier' })).toEqual({
      label: 'tier',
      validValues: [],
      allowsNoLabel: false,
    });
  });

  it('loads from YAML and names invalid parameters', async () => {
    const scheduler = await createTestScheduler({
      plugins,
      config: 'plugins: [{ type: by-label, parameters: { label: tier, validValues: [slow] } }]',
    });
    const outcome = await scheduler.schedule(createSchedulingRequest(), [
      createTestEndpointState({ key: '10.0.3.5:8000', labels: { tier: 'fast' } }),
      createTestEndpointState({ key: '10.0.3.6:8000', labels: { tier: 'slow' } }),
    ]);
    expect(outcome.ok && outcome.result.primary.endpoint.key).toBe('10.0.3.6:8000');
    await expect(createTestScheduler({ plugins, config: 'plugins: [{ type: by-label }]' })).rejects.toThrow(
      /plugins\[0\]\.parameters\.label/,
    );
    await expect(
      createTestScheduler({
        plugins,
        config: 'plugins: [{ type: by-label, parameters: { label: tier, allowsNoLabel: yes-please } }]',
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters\.allowsNoLabel/);
  });
});
