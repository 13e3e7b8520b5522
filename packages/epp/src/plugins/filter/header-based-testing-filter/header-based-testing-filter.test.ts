import { describe, expect, it } from 'vitest';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';
import { isFilter } from '../../../plugin/plugin-interfaces.js';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import {
  createTestEndpointState,
  createTestScheduler,
  createTestSchedulingEndpoint,
} from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import {
  headerBasedTestingFilterPlugin,
  testEndpointSelectionHeader,
} from './header-based-testing-filter.js';

const plugins = [headerBasedTestingFilterPlugin].filter((definition) => !builtinPlugins.includes(definition));
const behaviour = headerBasedTestingFilterPlugin.create(undefined, undefined as never);
if (!isFilter(behaviour)) throw new Error('not a filter');
const filter = behaviour;
const candidates = [
  createTestSchedulingEndpoint({ key: '10.0.7.1:8000' }),
  createTestSchedulingEndpoint({ key: '10.0.7.1:8001' }),
  createTestSchedulingEndpoint({ key: '10.0.7.2:8000' }),
  createTestSchedulingEndpoint({ key: '[fd00::7]:8000' }),
];

function selected(header: string | undefined): string[] {
  const request = createSchedulingRequest(
    header === undefined ? {} : { headers: { [testEndpointSelectionHeader]: header } },
  );
  return filter.filter(request, candidates).map((entry: SchedulingEndpoint) => entry.endpoint.key);
}

describe('header-based-testing-filter', () => {
  it('keeps the listed IPs in header order', () => {
    expect(selected('10.0.7.2, 10.0.7.1')).toEqual(['10.0.7.2:8000', '10.0.7.1:8000']);
  });

  it('matches ip:port exactly and keeps at most one endpoint per IP', () => {
    expect(selected('10.0.7.1:8001')).toEqual(['10.0.7.1:8001']);
    expect(selected('10.0.7.1:8001,10.0.7.1:8000,10.0.7.1')).toEqual(['10.0.7.1:8001']);
    expect(selected('10.0.7.1:9999')).toEqual([]);
  });

  it('understands IPv6 with and without brackets', () => {
    expect(selected('fd00::7')).toEqual(['[fd00::7]:8000']);
    expect(selected('[fd00::7]:8000')).toEqual(['[fd00::7]:8000']);
    expect(selected('[fd00::7]')).toEqual(['[fd00::7]:8000']);
  });

  it('selects nothing without the header, with an empty header or unknown IPs', () => {
    expect(selected(undefined)).toEqual([]);
    expect(selected('  ')).toEqual([]);
    expect(selected('10.9.9.9, ,')).toEqual([]);
  });

  it('routes from YAML to the endpoint named in the header', async () => {
    const scheduler = await createTestScheduler({
      plugins,
      config: 'plugins: [{ type: header-based-testing-filter }]',
    });
    const endpoints = [
      createTestEndpointState({ key: '10.0.7.5:8000' }),
      createTestEndpointState({ key: '10.0.7.6:8000' }),
    ];
    const outcome = await scheduler.schedule(
      createSchedulingRequest({ headers: { [testEndpointSelectionHeader]: '10.0.7.6' } }),
      endpoints,
    );
    expect(outcome.ok && outcome.result.primary.endpoint.key).toBe('10.0.7.6:8000');
    expect(await scheduler.schedule(createSchedulingRequest(), endpoints)).toMatchObject({
      ok: false,
      status: 429,
    });
    await expect(
      createTestScheduler({
        plugins,
        config: 'plugins: [{ type: header-based-testing-filter, parameters: { header: x } }]',
      }),
    ).rejects.toThrow(
      /plugins\[0\]\.parameters: plugin type "header-based-testing-filter" takes no parameters/,
    );
  });
});
