import { noopLogger } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { inFlightLoadAttribute, tokenizedPromptAttribute } from '../../../plugin/data-keys.js';
import type { PluginHandle } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';
import type { PluginBehaviour, ScorerPlugin } from '../../../plugin/plugin-interfaces.js';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import {
  createTestEndpointState,
  createTestScheduler,
  createTestSchedulingEndpoint,
} from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { scorerPlugins } from '../../scorer-plugins.js';
import { tokenLoadScorerParameters, tokenLoadScorerPlugin } from './token-load-scorer.js';

const handle: PluginHandle = {
  name: 'token-load-scorer',
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
const plugins = scorerPlugins.filter((definition) => !builtinPlugins.includes(definition));

function scorerWith(parameters: unknown = {}): ScorerPlugin & PluginBehaviour {
  return tokenLoadScorerPlugin.create(tokenLoadScorerParameters.parse(parameters), handle) as ScorerPlugin &
    PluginBehaviour;
}

function withTokens(tokens: number | undefined): SchedulingEndpoint {
  const endpoint = createTestSchedulingEndpoint();
  if (tokens !== undefined) endpoint.attributes.set(inFlightLoadAttribute, { requests: 1, tokens });
  return endpoint;
}

describe('token-load-scorer', () => {
  it('defaults queueThresholdTokens to 4,194,304 and requires the in-flight load data', () => {
    expect(tokenLoadScorerParameters.parse(undefined)).toEqual({ queueThresholdTokens: 4_194_304 });
    expect(scorerWith().consumes).toEqual({ required: ['inflight-load'] });
    expect(scorerWith().category).toBe('Distribution');
  });

  it('scores 1 − min(tokens, threshold) / threshold', () => {
    const none = withTokens(0);
    const quarter = withTokens(250);
    const atThreshold = withTokens(1000);
    const beyond = withTokens(5000);
    const missing = withTokens(undefined);
    const scores = scorerWith({ queueThresholdTokens: 1000 }).score(request, [
      none,
      quarter,
      atThreshold,
      beyond,
      missing,
    ]);
    expect(scores.get(none)).toBe(1);
    expect(scores.get(quarter)).toBe(0.75);
    expect(scores.get(atThreshold)).toBe(0);
    expect(scores.get(beyond)).toBe(0);
    expect(scores.get(missing)).toBe(1);
    expect(scorerWith().score(request, []).size).toBe(0);
  });

  it('with the injected producer, scores an endpoint down by the uncached tokens routed to it', async () => {
    const scheduler = await createTestScheduler({
      plugins,
      random: () => 0,
      config: `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: token-load-scorer
  parameters:
    queueThresholdTokens: 1000
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: token-load-scorer
`,
    });
    const pool = [
      createTestEndpointState({ key: '10.7.0.1:8000' }),
      createTestEndpointState({ key: '10.7.0.2:8000' }),
    ];
    const first = createSchedulingRequest();
    first.attributes.set(tokenizedPromptAttribute, { tokenIds: new Array(400).fill(7), source: 'tokenizer' });
    const firstOutcome = await scheduler.schedule(first, pool);
    if (!firstOutcome.ok) throw new Error(firstOutcome.message);
    await scheduler.preRequest(first, firstOutcome.result);

    const second = await scheduler.schedule(createSchedulingRequest(), pool);
    if (!second.ok) throw new Error(second.message);
    const totals = second.result.profileResults.get('default')?.totals;
    expect(totals?.get(firstOutcome.result.primary.endpoint.key)).toBeCloseTo(0.6);
    expect(second.result.primary.endpoint.key).not.toBe(firstOutcome.result.primary.endpoint.key);
  });

  it('refuses an inFlightLoadProducerName that does not produce in-flight load', async () => {
    await expect(
      createTestScheduler({
        plugins,
        config: {
          plugins: [
            { type: 'queue-scorer', name: 'not-a-producer' },
            { type: 'token-load-scorer', parameters: { inFlightLoadProducerName: 'not-a-producer' } },
          ],
        },
      }),
    ).rejects.toThrow(/inFlightLoadProducerName "not-a-producer" does not produce inflight-load data/);
  });

  it('rejects invalid parameters, naming the field path', async () => {
    await expect(
      createTestScheduler({
        plugins,
        config: { plugins: [{ type: 'token-load-scorer', parameters: { queueThresholdTokens: 0 } }] },
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters\.queueThresholdTokens/);
  });
});
