import { noopLogger } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { inFlightLoadAttribute } from '../../../plugin/data-keys.js';
import type { PluginHandle } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';
import type { PluginBehaviour, ScorerPlugin } from '../../../plugin/plugin-interfaces.js';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import { createTestScheduler, createTestSchedulingEndpoint } from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { scorerPlugins } from '../../scorer-plugins.js';
import { activeRequestScorerParameters, activeRequestScorerPlugin } from './active-request-scorer.js';

const warnings: string[] = [];
const handle: PluginHandle = {
  name: 'active-request-scorer',
  logger: { ...noopLogger, warn: (_fields, message) => warnings.push(message ?? '') },
  now: () => 0,
  random: () => 0,
  plugin: () => {
    throw new Error('no plugins in this test');
  },
  endpoints: () => [],
  endpoint: () => undefined,
};
const request = createSchedulingRequest();
const plugins = scorerPlugins.filter((definition) => !builtinPlugins.includes(definition));

function scorerWith(parameters: unknown = {}): ScorerPlugin & PluginBehaviour {
  return activeRequestScorerPlugin.create(
    activeRequestScorerParameters.parse(parameters),
    handle,
  ) as ScorerPlugin & PluginBehaviour;
}

function withInFlight(requests: number | undefined): SchedulingEndpoint {
  const endpoint = createTestSchedulingEndpoint();
  if (requests !== undefined) endpoint.attributes.set(inFlightLoadAttribute, { requests, tokens: 0 });
  return endpoint;
}

describe('active-request-scorer', () => {
  it('has llm-d defaults and requires the in-flight load data', () => {
    expect(activeRequestScorerParameters.parse(undefined)).toEqual({ idleThreshold: 0, maxBusyScore: 1 });
    const scorer = scorerWith();
    expect(scorer.consumes).toEqual({ required: ['inflight-load'] });
    expect(scorer.category).toBe('Distribution');
  });

  it('scores idle endpoints 1 and busy ones (max − c) / max', () => {
    const idle = withInFlight(0);
    const one = withInFlight(1);
    const three = withInFlight(3);
    const four = withInFlight(4);
    const scores = scorerWith().score(request, [idle, one, three, four]);
    expect(scores.get(idle)).toBe(1);
    expect(scores.get(one)).toBe(0.75);
    expect(scores.get(three)).toBe(0.25);
    expect(scores.get(four)).toBe(0);
  });

  it('treats counts up to idleThreshold as idle and caps busy scores at maxBusyScore', () => {
    const two = withInFlight(2);
    const three = withInFlight(3);
    const six = withInFlight(6);
    const scores = scorerWith({ idleThreshold: 2, maxBusyScore: 0.5 }).score(request, [two, three, six]);
    expect(scores.get(two)).toBe(1);
    expect(scores.get(three)).toBe(0.25);
    expect(scores.get(six)).toBe(0);
  });

  it('scores 1 everywhere when nothing is in flight or the data is missing', () => {
    const endpoints = [withInFlight(0), withInFlight(undefined)];
    expect([...scorerWith().score(request, endpoints).values()]).toEqual([1, 1]);
    expect(scorerWith().score(request, []).size).toBe(0);
  });

  it('accepts the deprecated requestTimeout with a warning', () => {
    warnings.length = 0;
    scorerWith({ requestTimeout: '2m' });
    expect(warnings.some((message) => message.includes('requestTimeout is deprecated'))).toBe(true);
  });

  it('loads from YAML, checking inFlightLoadProducerName against the configured producer', async () => {
    const yaml = (producerName: string) => `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: inflight-load-producer
  name: inflight
- type: active-request-scorer
  parameters:
    idleThreshold: 1
    maxBusyScore: 0.5
    inFlightLoadProducerName: ${producerName}
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: active-request-scorer
    weight: 2
`;
    const scheduler = await createTestScheduler({ plugins, config: yaml('inflight') });
    expect(scheduler.plugins.producers.map(({ plugin }) => plugin.name)).toEqual(['inflight']);
    await expect(createTestScheduler({ plugins, config: yaml('elsewhere') })).rejects.toThrow(
      /inFlightLoadProducerName "elsewhere" is not a configured plugin/,
    );
  });

  it('rejects invalid parameters, naming the field path', async () => {
    await expect(
      createTestScheduler({
        plugins,
        config: { plugins: [{ type: 'active-request-scorer', parameters: { maxBusyScore: 2 } }] },
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters\.maxBusyScore/);
    await expect(
      createTestScheduler({
        plugins,
        config: { plugins: [{ type: 'active-request-scorer', parameters: { idleThreshold: -1 } }] },
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters\.idleThreshold/);
  });
});
