import { describe, expect, it } from 'vitest';
import { inFlightLoadAttribute, inFlightLoadDataKey } from '../../../plugin/data-keys.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';
import { isFilter } from '../../../plugin/plugin-interfaces.js';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import {
  createTestEndpointState,
  createTestScheduler,
  createTestSchedulingEndpoint,
} from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { utilizationFilterParameters, utilizationFilterPlugin } from './utilization-filter.js';

const plugins = [utilizationFilterPlugin].filter((definition) => !builtinPlugins.includes(definition));
const request = createSchedulingRequest();

function create(parameters: unknown) {
  const behaviour = utilizationFilterPlugin.create(
    utilizationFilterParameters.parse(parameters),
    undefined as never,
  );
  if (!isFilter(behaviour)) throw new Error('not a filter');
  return behaviour;
}
function keys(endpoints: ReadonlyArray<SchedulingEndpoint>): string[] {
  return endpoints.map((candidate) => candidate.endpoint.key);
}
function withLoad(key: string, requests: number): SchedulingEndpoint {
  const candidate = createTestSchedulingEndpoint({ key });
  candidate.attributes.set(inFlightLoadAttribute, { requests, tokens: requests * 100 });
  return candidate;
}

describe('utilization-filter', () => {
  it('caps active requests from the in-flight load, treating missing data as idle', () => {
    const filter = create({ conditions: [{ metric: 'active-requests', maxValue: 2 }] });
    const candidates = [
      withLoad('10.0.5.1:8000', 1),
      withLoad('10.0.5.2:8000', 2),
      withLoad('10.0.5.3:8000', 3),
      createTestSchedulingEndpoint({ key: '10.0.5.4:8000' }),
    ];
    expect(keys(filter.filter(request, candidates))).toEqual([
      '10.0.5.1:8000',
      '10.0.5.2:8000',
      '10.0.5.4:8000',
    ]);
    expect(filter.consumes).toEqual({ required: [inFlightLoadDataKey] });
  });

  it('caps model-server metrics, inclusive of maxValue', () => {
    const candidates = [
      createTestSchedulingEndpoint({
        key: '10.0.5.1:8000',
        metrics: { runningRequestsSize: 4, kvCacheUsagePercent: 0.5 },
      }),
      createTestSchedulingEndpoint({
        key: '10.0.5.2:8000',
        metrics: { runningRequestsSize: 5, waitingQueueSize: 1 },
      }),
      createTestSchedulingEndpoint({ key: '10.0.5.3:8000', metrics: { kvCacheUsagePercent: 0.9 } }),
    ];
    expect(
      keys(create({ conditions: [{ metric: 'running-requests', maxValue: 4 }] }).filter(request, candidates)),
    ).toEqual(['10.0.5.1:8000', '10.0.5.3:8000']);
    expect(
      keys(create({ conditions: [{ metric: 'waiting-queue', maxValue: 0 }] }).filter(request, candidates)),
    ).toEqual(['10.0.5.1:8000', '10.0.5.3:8000']);
    expect(
      keys(
        create({ conditions: [{ metric: 'kv-cache-utilization', maxValue: 0.8 }] }).filter(
          request,
          candidates,
        ),
      ),
    ).toEqual(['10.0.5.1:8000', '10.0.5.2:8000']);
    expect(create({ conditions: [{ metric: 'waiting-queue', maxValue: 0 }] }).consumes).toEqual({
      required: [],
    });
  });

  it('drops an endpoint that exceeds any condition', () => {
    const filter = create({
      conditions: [
        { metric: 'running-requests', maxValue: 40 },
        { metric: 'waiting-queue', maxValue: 0 },
      ],
    });
    const candidates = [
      createTestSchedulingEndpoint({ key: '10.0.5.1:8000', metrics: { runningRequestsSize: 10 } }),
      createTestSchedulingEndpoint({ key: '10.0.5.2:8000', metrics: { runningRequestsSize: 41 } }),
      createTestSchedulingEndpoint({
        key: '10.0.5.3:8000',
        metrics: { runningRequestsSize: 10, waitingQueueSize: 1 },
      }),
    ];
    expect(keys(filter.filter(request, candidates))).toEqual(['10.0.5.1:8000']);
  });

  it('returns nothing when all are over the caps, or everything with fallbackOnEmpty', () => {
    const candidates = [withLoad('10.0.5.1:8000', 2), withLoad('10.0.5.2:8000', 3)];
    expect(
      create({ conditions: [{ metric: 'active-requests', maxValue: 1 }] }).filter(request, candidates),
    ).toEqual([]);
    expect(
      create({ conditions: [{ metric: 'active-requests', maxValue: 1 }], fallbackOnEmpty: true }).filter(
        request,
        candidates,
      ),
    ).toEqual(candidates);
    expect(create({ conditions: [{ metric: 'active-requests', maxValue: 1 }] }).filter(request, [])).toEqual(
      [],
    );
  });

  it('is experimental (Alpha) and loads from YAML with --allow-experimental-plugins', async () => {
    const config = `
plugins:
- type: utilization-filter
  parameters:
    conditions: [{ metric: waiting-queue, maxValue: 2 }]
`;
    await expect(createTestScheduler({ plugins, config })).rejects.toThrow(/experimental/);
    const scheduler = await createTestScheduler({ plugins, config, allowExperimentalPlugins: true });
    const outcome = await scheduler.schedule(createSchedulingRequest(), [
      createTestEndpointState({ key: '10.0.5.7:8000', metrics: { waitingQueueSize: 3 } }),
      createTestEndpointState({ key: '10.0.5.8:8000', metrics: { waitingQueueSize: 2 } }),
    ]);
    expect(outcome.ok && outcome.result.primary.endpoint.key).toBe('10.0.5.8:8000');
  });

  it('names invalid parameters', async () => {
    const load = (parameters: string) =>
      createTestScheduler({
        plugins,
        allowExperimentalPlugins: true,
        config: `plugins: [{ type: utilization-filter, parameters: ${parameters} }]`,
      });
    await expect(load('{}')).rejects.toThrow(/plugins\[0\]\.parameters\.conditions/);
    await expect(load('{ conditions: [{ metric: kv-cache-utilization, maxValue: 80 }] }')).rejects.toThrow(
      /plugins\[0\]\.parameters\.conditions\[0\]\.maxValue: kv-cache-utilization is a fraction/,
    );
    await expect(load('{ conditions: [{ metric: gpu-temperature, maxValue: 1 }] }')).rejects.toThrow(
      /plugins\[0\]\.parameters\.conditions\[0\]\.metric/,
    );
    await expect(load('{ conditions: [{ metric: waiting-queue, maxValue: -1 }] }')).rejects.toThrow(
      /plugins\[0\]\.parameters\.conditions\[0\]\.maxValue/,
    );
  });
});
