import { headerNames, type Logger, labelNames } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import {
  prefixCacheMatchAttribute,
  prefixCacheMatchDataKey,
  tokenizedPromptAttribute,
} from '../../../plugin/data-keys.js';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { EndpointState } from '../../../plugin/endpoint-state.js';
import type { SchedulingRequest } from '../../../plugin/scheduling-request.js';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import type { Scheduler } from '../../../scheduling/scheduler.js';
import { createTestEndpointState, createTestScheduler } from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { routingPlugins } from '../../routing-plugins.js';

function recordingLogger(lines: string[]): Logger {
  const logger: Logger = {
    trace: () => {},
    debug: () => {},
    info: () => {},
    warn: (_fields, message) => lines.push(message ?? ''),
    error: () => {},
    child: () => logger,
  };
  return logger;
}

// Stand-in for approx-prefix-cache-producer (written in parallel elsewhere): every decode endpoint
// holds exactly 2 blocks of 16 tokens (32 cached tokens), so the threshold arithmetic is exact.
const fixedPrefixProducer = definePlugin({
  type: 'test-fixed-prefix-producer',
  create: (_parameters, handle) => ({
    produces: [prefixCacheMatchDataKey(handle.name)],
    produce: (_request, endpoints) => {
      for (const entry of endpoints) {
        entry.attributes.set(prefixCacheMatchAttribute(handle.name), {
          matchBlocks: 2,
          totalBlocks: 8,
          blockSizeTokens: 16,
        });
      }
    },
  }),
});
const plugins = [...routingPlugins, fixedPrefixProducer].filter(
  (definition) => !builtinPlugins.includes(definition),
);

const role = (value: string) => ({ [labelNames.role]: value });
const pool = [
  createTestEndpointState({ key: '10.3.0.1:8000', labels: role('prefill') }),
  createTestEndpointState({ key: '10.3.0.2:8000', labels: role('decode') }),
];

function config(parameters: string, extraPlugins = ''): string {
  return `
plugins:
- type: prefill-filter
- type: decode-filter
${extraPlugins}
- type: pd-profile-handler
  parameters: ${parameters}
schedulingProfiles:
- { name: prefill, plugins: [{ pluginRef: prefill-filter }] }
- { name: decode, plugins: [{ pluginRef: decode-filter }] }
`;
}
function requestWithTokens(tokens: number): SchedulingRequest {
  const request = createSchedulingRequest();
  request.attributes.set(tokenizedPromptAttribute, {
    tokenIds: new Array<number>(tokens).fill(1),
    source: 'tokenizer',
  });
  return request;
}
async function prefillHeader(
  scheduler: Scheduler,
  request: SchedulingRequest,
  endpoints: ReadonlyArray<EndpointState> = pool,
) {
  const outcome = await scheduler.schedule(request, endpoints);
  if (!outcome.ok) throw new Error(outcome.message);
  expect(outcome.result.primary.endpoint.key).toBe('10.3.0.2:8000');
  await scheduler.preRequest(request, outcome.result);
  return request.upstreamHeaders.get(headerNames.prefillerHostPort);
}

describe('pd-profile-handler (deprecated)', () => {
  it('warns and uses prefix-based-pd-decider by default', async () => {
    const lines: string[] = [];
    const scheduler = await createTestScheduler({
      plugins,
      logger: recordingLogger(lines),
      config: config(
        '{}',
        '- { type: test-fixed-prefix-producer, name: approx-prefix-cache-producer }\n- { type: prefix-based-pd-decider, parameters: { nonCachedTokens: 8 } }',
      ),
    });
    expect(lines).toContain('plugin type "pd-profile-handler" is deprecated; use "disagg-profile-handler"');
    expect(await prefillHeader(scheduler, requestWithTokens(40))).toBe('10.3.0.1:8000'); // 40 − 32 = 8 uncached
    expect(await prefillHeader(scheduler, requestWithTokens(39))).toBeUndefined();
  });

  it('resolves deciderPluginName, with a clear error when it is missing', async () => {
    const scheduler = await createTestScheduler({
      plugins,
      config: config('{ deciderPluginName: always }', '- { type: always-disagg-pd-decider, name: always }'),
    });
    expect(await prefillHeader(scheduler, createSchedulingRequest())).toBe('10.3.0.1:8000');
    await expect(createTestScheduler({ plugins, config: config('{}') })).rejects.toThrow(
      /parameters\.deciderPluginName: no plugin named "prefix-based-pd-decider" is configured/,
    );
  });

  it('maps the old byte threshold to nonCachedTokens = ceil(threshold / 4)', async () => {
    const lines: string[] = [];
    const scheduler = await createTestScheduler({
      plugins,
      logger: recordingLogger(lines),
      config: config(
        '{ threshold: 30, hashBlockSize: 64 }',
        '- { type: test-fixed-prefix-producer, name: approx-prefix-cache-producer }',
      ),
    });
    expect(lines).toEqual(
      expect.arrayContaining([
        'deprecated parameter "hashBlockSize" is ignored',
        'deprecated parameter "threshold" (bytes) mapped to a prefix-based decision with nonCachedTokens 8; configure prefix-based-pd-decider instead',
      ]),
    );
    expect(await prefillHeader(scheduler, requestWithTokens(40))).toBe('10.3.0.1:8000');
    expect(await prefillHeader(scheduler, requestWithTokens(39))).toBeUndefined();
  });

  it('keeps the old meaning of threshold 0: always disaggregate', async () => {
    const scheduler = await createTestScheduler({ plugins, config: config('{ threshold: 0 }') });
    expect(await prefillHeader(scheduler, createSchedulingRequest())).toBe('10.3.0.1:8000');
  });

  it('names invalid parameters', async () => {
    // The handler is plugins[2].
    await expect(createTestScheduler({ plugins, config: config('{ primaryPort: 8000 }') })).rejects.toThrow(
      /plugins\[2\]\.parameters\.primaryPort: primaryPort \(data-parallel port rewrite\) is not supported/,
    );
    await expect(
      createTestScheduler({ plugins, config: config('{ threshold: 10, deciderPluginName: x }') }),
    ).rejects.toThrow(/plugins\[2\]\.parameters\.threshold/);
    await expect(createTestScheduler({ plugins, config: config('{ threshold: -1 }') })).rejects.toThrow(
      /plugins\[2\]\.parameters\.threshold/,
    );
  });
});
