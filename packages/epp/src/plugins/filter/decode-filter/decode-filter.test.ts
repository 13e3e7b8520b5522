import { endpointRoles, labelNames } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { isFilter } from '../../../plugin/plugin-interfaces.js';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import {
  createTestEndpointState,
  createTestScheduler,
  createTestSchedulingEndpoint,
} from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { decodeFilterPlugin } from './decode-filter.js';

const plugins = [decodeFilterPlugin].filter((definition) => !builtinPlugins.includes(definition));

/** One endpoint per role value, plus an unlabelled one and one with an unknown role. */
const candidates = [...endpointRoles, undefined, 'router'].map((role, index) =>
  createTestSchedulingEndpoint({
    key: `10.0.4.${index + 1}:8000`,
    ...(role === undefined ? {} : { labels: { [labelNames.role]: role } }),
  }),
);

describe('decode-filter', () => {
  it('keeps exactly the decode-capable roles', () => {
    const filter = decodeFilterPlugin.create(undefined, undefined as never);
    if (!isFilter(filter)) throw new Error('not a filter');
    const kept = filter.filter(createSchedulingRequest(), candidates);
    expect(
      kept.map((candidate) => candidate.endpoint.labels[labelNames.role] ?? '(unlabelled)').sort(),
    ).toEqual(
      (['decode', 'prefill-decode', 'both', 'encode-prefill-decode', '(unlabelled)'] as string[]).sort(),
    );
    expect(filter.filter(createSchedulingRequest(), [])).toEqual([]);
  });

  it('routes from YAML and takes no parameters', async () => {
    const scheduler = await createTestScheduler({ plugins, config: 'plugins: [{ type: decode-filter }]' });
    const outcome = await scheduler.schedule(createSchedulingRequest(), [
      createTestEndpointState({ key: '10.0.4.20:8000', labels: { [labelNames.role]: 'router' } }),
      createTestEndpointState({ key: '10.0.4.21:8000', labels: { [labelNames.role]: 'decode' } }),
    ]);
    expect(outcome.ok && outcome.result.primary.endpoint.key).toBe('10.0.4.21:8000');
    await expect(
      createTestScheduler({ plugins, config: 'plugins: [{ type: decode-filter, parameters: { role: x } }]' }),
    ).rejects.toThrow(/plugins\[0\]\.parameters: plugin type "decode-filter" takes no parameters/);
  });
});
