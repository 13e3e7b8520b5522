import { noopLogger } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { attributeKey } from '../../../plugin/attribute-map.js';
import type { PluginHandle } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';
import type {
  PluginBehaviour,
  ResponseHeadersInfo,
  SchedulingResult,
} from '../../../plugin/plugin-interfaces.js';
import type { SchedulingRequest } from '../../../plugin/scheduling-request.js';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import {
  createTestEndpointState,
  createTestScheduler,
  createTestSchedulingEndpoint,
} from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { encodeEndpointSessionToken } from './endpoint-session-token.js';
import { sessionAffinityScorerParameters, sessionAffinityScorerPlugin } from './session-affinity-scorer.js';

let clock = 0;
const handle: PluginHandle = {
  name: 'session-affinity-scorer',
  logger: noopLogger,
  now: () => clock,
  random: () => 0,
  plugin: () => {
    throw new Error('no plugins in this test');
  },
  endpoints: () => [],
  endpoint: () => undefined,
};
const plugins = [sessionAffinityScorerPlugin].filter((definition) => !builtinPlugins.includes(definition));
type Scorer = Required<Pick<PluginBehaviour, 'score'>> & PluginBehaviour;

function scorerWith(parameters: unknown = {}): Scorer {
  return sessionAffinityScorerPlugin.create(
    sessionAffinityScorerParameters.parse(parameters),
    handle,
  ) as Scorer;
}

function resultOf(primaryProfileName: string, targets: Record<string, SchedulingEndpoint>): SchedulingResult {
  const profileResults = new Map(
    Object.entries(targets).map(([profileName, target]) => [
      profileName,
      { profileName, targets: [target], totals: new Map(), scoresByScorer: new Map() },
    ]),
  );
  return {
    primaryProfileName,
    profileResults,
    primary: targets[primaryProfileName] as SchedulingEndpoint,
    fallbacks: [],
  };
}

function responseFrom(served: SchedulingEndpoint | undefined): ResponseHeadersInfo {
  return { status: 200, headers: {}, servedEndpoint: served?.endpoint, setHeaders: new Map() };
}

/** Scores, then runs pre-request for the best-scored candidate, as the scheduler would. */
function route(
  scorer: Scorer,
  request: SchedulingRequest,
  endpoints: SchedulingEndpoint[],
): SchedulingEndpoint {
  const scores = scorer.score(request, endpoints);
  let best = endpoints[0] as SchedulingEndpoint;
  for (const candidate of endpoints)
    if ((scores.get(candidate) ?? 0) > (scores.get(best) ?? 0)) best = candidate;
  scorer.preRequest?.(request, resultOf('default', { default: best }));
  return best;
}

const pod = (name: string) => createTestSchedulingEndpoint({ name, key: `10.8.0.${name.slice(-1)}:8000` });

describe('session-affinity-scorer parameters', () => {
  it('defaults to encoded_endpoint_header with x-session-token, session_id with x-session-id and 300 s TTL', () => {
    expect(sessionAffinityScorerParameters.parse(undefined)).toEqual({
      strategy: 'encoded_endpoint_header',
      profileName: '',
      encodedEndpointHeaderConfig: { header: 'x-session-token' },
      sessionIdConfig: { sources: [], evictionTtlSeconds: 300, evictionSweepSeconds: 10 },
    });
    expect(
      sessionAffinityScorerParameters.parse({
        strategy: 'session_id',
        sessionIdConfig: { evictionTtlSeconds: 0 },
      }).sessionIdConfig.evictionTtlSeconds,
    ).toBe(300);
  });
});

describe('session-affinity-scorer, encoded_endpoint_header', () => {
  it('scores the endpoint named by the token 1 and the others 0', () => {
    const scorer = scorerWith();
    const [a, b] = [pod('vllm-1'), pod('vllm-2')];
    const request = createSchedulingRequest({
      headers: { 'x-session-token': encodeEndpointSessionToken(b.endpoint) },
    });
    const scores = scorer.score(request, [a, b]);
    expect(scores.get(a)).toBe(0);
    expect(scores.get(b)).toBe(1);
    expect(scorer.category).toBe('Affinity');
  });

  it('scores 0 everywhere without a token, with a malformed one, or when the endpoint is gone', () => {
    const scorer = scorerWith();
    const endpoints = [pod('vllm-1'), pod('vllm-2')];
    const gone = encodeEndpointSessionToken({ namespace: 'default', name: 'vllm-9' });
    const headerSets: Array<Record<string, string>> = [
      {},
      { 'x-session-token': '%%%' },
      { 'x-session-token': gone },
    ];
    for (const headers of headerSets) {
      expect([...scorer.score(createSchedulingRequest({ headers }), endpoints).values()]).toEqual([0, 0]);
    }
  });

  it('sets the token of the served endpoint on the response headers', () => {
    const scorer = scorerWith();
    const served = pod('vllm-3');
    const response = responseFrom(served);
    scorer.responseHeaders?.(createSchedulingRequest(), response);
    expect(response.setHeaders.get('x-session-token')).toBe(encodeEndpointSessionToken(served.endpoint));
    const none = responseFrom(undefined);
    scorer.responseHeaders?.(createSchedulingRequest(), none);
    expect(none.setHeaders.size).toBe(0);
  });

  it('with profileName, reads its own header and writes that profile target, not the served endpoint', () => {
    const scorer = scorerWith({
      profileName: 'prefill',
      encodedEndpointHeaderConfig: { header: 'X-Session-Token-Prefill' },
    });
    const [prefill, decode] = [pod('vllm-4'), pod('vllm-5')];
    const request = createSchedulingRequest({
      headers: { 'x-session-token-prefill': encodeEndpointSessionToken(prefill.endpoint) },
    });
    expect(scorer.score(request, [prefill, decode]).get(prefill)).toBe(1);
    scorer.preRequest?.(request, resultOf('decode', { decode, prefill }));
    const response = responseFrom(decode);
    scorer.responseHeaders?.(request, response);
    expect(response.setHeaders.get('x-session-token-prefill')).toBe(
      encodeEndpointSessionToken(prefill.endpoint),
    );
  });
});

describe('session-affinity-scorer, session_id', () => {
  it('binds a new session to the least-bound endpoint and keeps it there', () => {
    clock = 0;
    const scorer = scorerWith({ strategy: 'session_id' });
    const endpoints = [pod('vllm-1'), pod('vllm-2')];
    const first = route(scorer, createSchedulingRequest({ headers: { 'x-session-id': 'alpha' } }), endpoints);
    const second = route(scorer, createSchedulingRequest({ headers: { 'x-session-id': 'beta' } }), endpoints);
    expect(second).not.toBe(first);
    for (let turn = 0; turn < 3; turn++) {
      const request = createSchedulingRequest({ headers: { 'x-session-id': 'alpha' } });
      const scores = scorer.score(request, endpoints);
      expect(scores.get(first)).toBe(1);
      expect(scores.get(second)).toBe(0);
    }
  });

  it('scores 0 everywhere for requests without a session id', () => {
    const scorer = scorerWith({ strategy: 'session_id' });
    expect([...scorer.score(createSchedulingRequest(), [pod('vllm-1'), pod('vllm-2')]).values()]).toEqual([
      0, 0,
    ]);
    expect(scorer.score(createSchedulingRequest({ headers: { 'x-session-id': 's' } }), []).size).toBe(0);
  });

  it('forgets a session after the TTL', () => {
    clock = 0;
    const scorer = scorerWith({ strategy: 'session_id', sessionIdConfig: { evictionTtlSeconds: 60 } });
    const [a, b] = [pod('vllm-1'), pod('vllm-2')];
    route(scorer, createSchedulingRequest({ headers: { 'x-session-id': 'other' } }), [a, b]);
    const bound = route(scorer, createSchedulingRequest({ headers: { 'x-session-id': 'gamma' } }), [a, b]);
    expect(bound).toBe(b);
    clock = 60_001;
    // "other" expired too, so both endpoints are free again and the first candidate wins.
    const scores = scorer.score(createSchedulingRequest({ headers: { 'x-session-id': 'gamma' } }), [a, b]);
    expect(scores.get(a)).toBe(1);
  });

  it('migrates only when the bound endpoint was not a candidate', () => {
    clock = 0;
    const scorer = scorerWith({ strategy: 'session_id' });
    const [a, b] = [pod('vllm-1'), pod('vllm-2')];
    const bound = route(scorer, createSchedulingRequest({ headers: { 'x-session-id': 'delta' } }), [a, b]);
    expect(bound).toBe(a);

    // Outvoted by other scorers: the request goes to b but the binding stays on a.
    const outvoted = createSchedulingRequest({ headers: { 'x-session-id': 'delta' } });
    scorer.score(outvoted, [a, b]);
    scorer.preRequest?.(outvoted, resultOf('default', { default: b }));
    expect(
      scorer.score(createSchedulingRequest({ headers: { 'x-session-id': 'delta' } }), [a, b]).get(a),
    ).toBe(1);

    // a filtered out: the session moves to b.
    route(scorer, createSchedulingRequest({ headers: { 'x-session-id': 'delta' } }), [b]);
    expect(
      scorer.score(createSchedulingRequest({ headers: { 'x-session-id': 'delta' } }), [a, b]).get(b),
    ).toBe(1);
  });

  it('reads the session id from configured sources in order, headers and request attributes', () => {
    clock = 0;
    const scorer = scorerWith({
      strategy: 'session_id',
      sessionIdConfig: { sources: [{ header: 'X-Conversation' }, { attribute: 'agent-identity' }] },
    });
    const [a, b] = [pod('vllm-1'), pod('vllm-2')];
    const byAttribute = createSchedulingRequest();
    byAttribute.attributes.set(attributeKey<string>('agent-identity'), 'agent-7');
    expect(route(scorer, byAttribute, [a, b])).toBe(a);
    expect(route(scorer, createSchedulingRequest({ headers: { 'x-conversation': 'c1' } }), [a, b])).toBe(b);
    const again = createSchedulingRequest({ headers: { 'x-session-id': 'ignored' } });
    again.attributes.set(attributeKey<string>('agent-identity'), 'agent-7');
    expect(scorer.score(again, [a, b]).get(a)).toBe(1);
  });
});

describe('session-affinity-scorer in a scheduler', () => {
  it('routes by the token and sets it on the response when loaded from YAML', async () => {
    const scheduler = await createTestScheduler({
      plugins,
      random: () => 0,
      config: `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: session-affinity-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: session-affinity-scorer
`,
    });
    const pool = [
      createTestEndpointState({ key: '10.8.1.1:8000', name: 'vllm-a' }),
      createTestEndpointState({ key: '10.8.1.2:8000', name: 'vllm-b' }),
    ];
    const token = encodeEndpointSessionToken(pool[1]?.endpoint as never);
    const request = createSchedulingRequest({ headers: { 'x-session-token': token } });
    const outcome = await scheduler.schedule(request, pool);
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.result.primary.endpoint.key).toBe('10.8.1.2:8000');
    const response = responseFrom(outcome.result.primary);
    scheduler.responseHeaders(request, response);
    expect(response.setHeaders.get('x-session-token')).toBe(token);
  });

  it('rejects invalid parameters, naming the field path', async () => {
    await expect(
      createTestScheduler({
        plugins,
        config: { plugins: [{ type: 'session-affinity-scorer', parameters: { strategy: 'cookie' } }] },
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters\.strategy/);
    await expect(
      createTestScheduler({
        plugins,
        config: {
          plugins: [
            {
              type: 'session-affinity-scorer',
              parameters: {
                strategy: 'session_id',
                sessionIdConfig: { sources: [{ header: 'a', attribute: 'b' }] },
              },
            },
          ],
        },
      }),
    ).rejects.toThrow(
      /plugins\[0\]\.parameters\.sessionIdConfig\.sources\[0\]: exactly one of header or attribute/,
    );
  });
});
