import { headerNames, type Logger, labelNames } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { pdReferenceConfig } from '../../../config/__fixtures__/llm-d-reference-configs.js';
import { prefixCacheMatchAttribute, prefixCacheMatchDataKey } from '../../../plugin/data-keys.js';
import { definePlugin, type PluginDefinition } from '../../../plugin/define-plugin.js';
import type { EndpointState } from '../../../plugin/endpoint-state.js';
import type { SchedulingRequest } from '../../../plugin/scheduling-request.js';
import {
  chatCompletionBody,
  createSchedulingRequest,
} from '../../../scheduling/create-scheduling-request.js';
import type { Scheduler } from '../../../scheduling/scheduler.js';
import { createTestEndpointState, createTestScheduler } from '../../../testing/index.js';
import { routingPlugins } from '../../routing-plugins.js';

/** Records log lines; the loader and plugins log through this interface only. */
function recordingLogger(lines: string[]): Logger {
  const logger: Logger = {
    trace: () => {},
    debug: () => {},
    info: (_fields, message) => lines.push(`info: ${message ?? ''}`),
    warn: (_fields, message) => lines.push(`warn: ${message ?? ''}`),
    error: (_fields, message) => lines.push(`error: ${message ?? ''}`),
    child: () => logger,
  };
  return logger;
}

/** Decider stand-in whose answer and call count the test controls. */
const deciderCalls = new Map<string, number>();
const scriptedDecider = definePlugin({
  type: 'test-scripted-decider',
  parameters: z.object({ answer: z.enum(['yes', 'no', 'throw']) }).strict(),
  create: ({ answer }, handle) => ({
    shouldDisaggregate: () => {
      deciderCalls.set(handle.name, (deciderCalls.get(handle.name) ?? 0) + 1);
      if (answer === 'throw') throw new Error('decider exploded');
      return answer === 'yes';
    },
  }),
});

// The registry accepts a definition that is also built in, so the group can be passed as it is.
const plugins = [...routingPlugins, scriptedDecider];

const role = (value: string) => ({ [labelNames.role]: value });
const prefillEndpoints = [
  createTestEndpointState({ key: '10.1.0.1:8000', labels: role('prefill') }),
  createTestEndpointState({ key: '10.1.0.2:8000', labels: role('prefill') }),
];
const decodeEndpoints = [
  createTestEndpointState({ key: '10.1.0.3:8000', labels: role('decode') }),
  createTestEndpointState({ key: '10.1.0.4:8000', labels: role('decode') }),
];
const encodeEndpoints = [
  createTestEndpointState({ key: '10.1.0.5:8000', labels: role('encode') }),
  createTestEndpointState({ key: '10.1.0.6:8000', labels: role('encode') }),
];
const pool = [...prefillEndpoints, ...decodeEndpoints, ...encodeEndpoints];
const keysOf = (states: ReadonlyArray<EndpointState>) => states.map((state) => state.endpoint.key);

const pdProfiles = `
schedulingProfiles:
- name: prefill
  plugins: [{ pluginRef: prefill-filter }]
- name: decode
  plugins: [{ pluginRef: decode-filter }]
`;
function pdConfig(handlerParameters: string, extraPlugins = ''): string {
  return `
plugins:
- type: prefill-filter
- type: decode-filter
- type: always-disagg-pd-decider
${extraPlugins}
- type: disagg-profile-handler
  parameters: ${handlerParameters}
${pdProfiles}`;
}

/** Schedules and runs the pre-request hooks, as the servers do. */
async function route(
  scheduler: Scheduler,
  request: SchedulingRequest,
  endpoints: ReadonlyArray<EndpointState> = pool,
) {
  const outcome = await scheduler.schedule(request, endpoints);
  if (!outcome.ok) throw new Error(outcome.message);
  await scheduler.preRequest(request, outcome.result);
  return outcome.result;
}

describe('disagg-profile-handler', () => {
  it('routes to a decode endpoint and names the prefill endpoint in x-prefiller-host-port', async () => {
    const scheduler = await createTestScheduler({
      plugins,
      config: pdConfig('{ deciders: { prefill: always-disagg-pd-decider } }'),
    });
    for (let round = 0; round < 10; round++) {
      const request = createSchedulingRequest();
      const result = await route(scheduler, request);
      expect(result.primaryProfileName).toBe('decode');
      expect(keysOf(decodeEndpoints)).toContain(result.primary.endpoint.key);
      const prefill = result.profileResults.get('prefill')?.targets[0]?.endpoint.key;
      expect(keysOf(prefillEndpoints)).toContain(prefill);
      expect(request.upstreamHeaders.get(headerNames.prefillerHostPort)).toBe(prefill);
      expect(request.upstreamHeaders.has(headerNames.encoderHostsPorts)).toBe(false);
    }
  });

  it('removes client-supplied P/D headers even when it does not disaggregate', async () => {
    const scheduler = await createTestScheduler({ plugins, config: pdConfig('{}') });
    const request = createSchedulingRequest();
    request.upstreamHeaders.set(headerNames.prefillerHostPort, '169.254.169.254:80');
    request.upstreamHeaders.set(headerNames.encoderHostsPorts, '169.254.169.254:80');
    await route(scheduler, request);
    expect(request.upstreamHeaders.has(headerNames.prefillerHostPort)).toBe(false);
    expect(request.upstreamHeaders.has(headerNames.encoderHostsPorts)).toBe(false);
  });

  it('never runs prefill without a prefill decider (P/D off) and says so at startup', async () => {
    const lines: string[] = [];
    const scheduler = await createTestScheduler({
      plugins,
      config: pdConfig('{}'),
      logger: recordingLogger(lines),
    });
    expect(lines).toContain('info: no prefill decider configured: P/D disaggregation is disabled');
    const result = await route(scheduler, createSchedulingRequest());
    expect(keysOf(decodeEndpoints)).toContain(result.primary.endpoint.key);
    expect(result.profileResults.has('prefill')).toBe(false);
  });

  it('stops after a failed decode profile without asking the decider', async () => {
    deciderCalls.clear();
    const scheduler = await createTestScheduler({
      plugins,
      config: pdConfig(
        '{ deciders: { prefill: yes } }',
        '- { type: test-scripted-decider, name: yes, parameters: { answer: "yes" } }',
      ),
    });
    const outcome = await scheduler.schedule(createSchedulingRequest(), prefillEndpoints);
    expect(outcome).toMatchObject({ ok: false, status: 429 });
    expect(deciderCalls.get('yes')).toBeUndefined();
  });

  it('asks a declining decider once per request and stays decode-only', async () => {
    deciderCalls.clear();
    const scheduler = await createTestScheduler({
      plugins,
      config: pdConfig(
        '{ deciders: { prefill: no } }',
        '- { type: test-scripted-decider, name: no, parameters: { answer: "no" } }',
      ),
    });
    const request = createSchedulingRequest();
    const result = await route(scheduler, request);
    expect(result.profileResults.has('prefill')).toBe(false);
    expect(request.upstreamHeaders.has(headerNames.prefillerHostPort)).toBe(false);
    expect(deciderCalls.get('no')).toBe(1);
    await route(scheduler, createSchedulingRequest());
    expect(deciderCalls.get('no')).toBe(2);
  });

  it('treats a throwing decider as "no" and logs it', async () => {
    const lines: string[] = [];
    const scheduler = await createTestScheduler({
      plugins,
      logger: recordingLogger(lines),
      config: pdConfig(
        '{ deciders: { prefill: broken } }',
        '- { type: test-scripted-decider, name: broken, parameters: { answer: throw } }',
      ),
    });
    const request = createSchedulingRequest();
    const result = await route(scheduler, request);
    expect(keysOf(decodeEndpoints)).toContain(result.primary.endpoint.key);
    expect(request.upstreamHeaders.has(headerNames.prefillerHostPort)).toBe(false);
    expect(lines).toContain('warn: disaggregation decider failed; skipping the stage');
  });

  it('runs E/P/D: encode for multimodal requests, all encode targets in x-encoder-hosts-ports', async () => {
    const scheduler = await createTestScheduler({
      plugins,
      config: `
plugins:
- type: prefill-filter
- type: decode-filter
- type: encode-filter
- { type: max-score-picker, name: two, parameters: { maxNumOfEndpoints: 2 } }
- type: always-disagg-pd-decider
- type: always-disagg-multimodal-decider
- type: disagg-profile-handler
  parameters:
    deciders: { prefill: always-disagg-pd-decider, encode: always-disagg-multimodal-decider }
schedulingProfiles:
- name: encode
  plugins: [{ pluginRef: encode-filter }, { pluginRef: two }]
- name: prefill
  plugins: [{ pluginRef: prefill-filter }]
- name: decode
  plugins: [{ pluginRef: decode-filter }]
`,
    });
    const messages = [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'describe' },
          { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
        ],
      },
    ];
    const multimodal = createSchedulingRequest({
      body: { kind: 'chat-completions', json: { model: 'm', messages }, model: 'm', stream: false, messages },
    });
    const result = await route(scheduler, multimodal);
    expect(result.primaryProfileName).toBe('decode');
    expect(multimodal.upstreamHeaders.get(headerNames.encoderHostsPorts)?.split(',').sort()).toEqual(
      keysOf(encodeEndpoints),
    );
    expect(keysOf(prefillEndpoints)).toContain(multimodal.upstreamHeaders.get(headerNames.prefillerHostPort));

    const text = createSchedulingRequest({
      body: chatCompletionBody('m', [{ role: 'user', content: 'hi' }]),
    });
    const textResult = await route(scheduler, text);
    expect(textResult.profileResults.has('encode')).toBe(false);
    expect(text.upstreamHeaders.has(headerNames.encoderHostsPorts)).toBe(false);
    expect(text.upstreamHeaders.has(headerNames.prefillerHostPort)).toBe(true);
  });

  it('uses custom profile names', async () => {
    const scheduler = await createTestScheduler({
      plugins,
      config: `
plugins:
- type: prefill-filter
- type: decode-filter
- type: always-disagg-pd-decider
- type: disagg-profile-handler
  parameters:
    profiles: { decode: d, prefill: p }
    deciders: { prefill: always-disagg-pd-decider }
schedulingProfiles:
- { name: p, plugins: [{ pluginRef: prefill-filter }] }
- { name: d, plugins: [{ pluginRef: decode-filter }] }
`,
    });
    const request = createSchedulingRequest();
    const result = await route(scheduler, request);
    expect(result.primaryProfileName).toBe('d');
    expect(keysOf(prefillEndpoints)).toContain(request.upstreamHeaders.get(headerNames.prefillerHostPort));
  });

  it('accepts the deprecated flat parameters with a warning', async () => {
    const lines: string[] = [];
    const scheduler = await createTestScheduler({
      plugins,
      logger: recordingLogger(lines),
      config: `
plugins:
- type: prefill-filter
- type: decode-filter
- type: always-disagg-pd-decider
- type: disagg-profile-handler
  parameters: { decodeProfile: d, prefillProfile: p, deciderPluginName: always-disagg-pd-decider, prefixPluginType: prefix-cache-scorer }
schedulingProfiles:
- { name: p, plugins: [{ pluginRef: prefill-filter }] }
- { name: d, plugins: [{ pluginRef: decode-filter }] }
`,
    });
    expect(lines).toEqual(
      expect.arrayContaining([
        'warn: deprecated parameter "decodeProfile"; use "profiles.decode"',
        'warn: deprecated parameter "deciderPluginName"; use "deciders.prefill"',
        'warn: deprecated parameter "prefixPluginType" is ignored',
      ]),
    );
    const request = createSchedulingRequest();
    expect((await route(scheduler, request)).primaryProfileName).toBe('d');
    expect(keysOf(prefillEndpoints)).toContain(request.upstreamHeaders.get(headerNames.prefillerHostPort));
  });

  it('rejects decider references that are unknown or not deciders, naming the parameter', async () => {
    await expect(
      createTestScheduler({ plugins, config: pdConfig('{ deciders: { prefill: missing-decider } }') }),
    ).rejects.toThrow(/parameters\.deciders\.prefill: no plugin named "missing-decider" is configured/);
    await expect(
      createTestScheduler({ plugins, config: pdConfig('{ deciders: { encode: decode-filter } }') }),
    ).rejects.toThrow(
      /parameters\.deciders\.encode: plugin "decode-filter" \(decode-filter\) is not a disaggregation decider/,
    );
    await expect(
      createTestScheduler({ plugins, config: pdConfig('{ prefillDeciderPluginName: nope }') }),
    ).rejects.toThrow(/parameters\.prefillDeciderPluginName: no plugin named "nope"/);
  });

  it('fails every request, logging once, when the decode profile does not exist', async () => {
    const lines: string[] = [];
    const scheduler = await createTestScheduler({
      plugins,
      logger: recordingLogger(lines),
      config: pdConfig('{ profiles: { decode: generate } }'),
    });
    for (let round = 0; round < 3; round++) {
      expect(await scheduler.schedule(createSchedulingRequest(), pool)).toMatchObject({
        ok: false,
        status: 429,
      });
    }
    expect(lines.filter((line) => line.includes('the decode profile is not configured'))).toHaveLength(1);
  });

  it('names invalid parameters', async () => {
    // The handler is plugins[3] in pdConfig.
    await expect(
      createTestScheduler({ plugins, config: pdConfig('{ profiles: { decode: 7 } }') }),
    ).rejects.toThrow(/plugins\[3\]\.parameters\.profiles\.decode/);
    await expect(
      createTestScheduler({ plugins, config: pdConfig('{ deciders: { prefil: x } }') }),
    ).rejects.toThrow(/plugins\[3\]\.parameters\.deciders/);
    await expect(
      createTestScheduler({ plugins, config: pdConfig('{ decodeProfile: d, profiles: { prefill: p } }') }),
    ).rejects.toThrow(
      /plugins\[3\]\.parameters\.decodeProfile: deprecated parameter decodeProfile cannot be combined/,
    );
  });
});

describe('the P/D example config (scheduler.md §4.3)', () => {
  it('picks a decode endpoint and sends prefill to a prefill endpoint', async () => {
    const scheduler = await createTestScheduler({ plugins, config: pdReferenceConfig });
    try {
      const endpoints = [
        createTestEndpointState({
          key: '10.2.0.1:8000',
          labels: role('prefill'),
          metrics: { waitingQueueSize: 3 },
        }),
        createTestEndpointState({
          key: '10.2.0.2:8000',
          labels: role('prefill'),
          metrics: { waitingQueueSize: 0 },
        }),
        createTestEndpointState({
          key: '10.2.0.3:8000',
          labels: role('decode'),
          metrics: { waitingQueueSize: 0 },
        }),
        createTestEndpointState({
          key: '10.2.0.4:8000',
          labels: role('decode'),
          metrics: { waitingQueueSize: 5 },
        }),
      ];
      // ~1000 estimated tokens, none cached yet: far more than nonCachedTokens (16) uncached.
      const request = createSchedulingRequest({
        body: chatCompletionBody('Qwen/Qwen3-8B', [
          { role: 'user', content: 'Summarise the attached report. '.repeat(130) },
        ]),
      });
      const result = await route(scheduler, request, endpoints);
      expect(result.primaryProfileName).toBe('decode');
      expect(['10.2.0.3:8000', '10.2.0.4:8000']).toContain(result.primary.endpoint.key);
      expect(['10.2.0.1:8000', '10.2.0.2:8000']).toContain(
        request.upstreamHeaders.get(headerNames.prefillerHostPort),
      );
      // With the queue scorer in the profiles the least-loaded endpoint of each role wins.
      expect(result.primary.endpoint.key).toBe('10.2.0.3:8000');
      expect(request.upstreamHeaders.get(headerNames.prefillerHostPort)).toBe('10.2.0.2:8000');
    } finally {
      await scheduler.close();
    }
  });
});
