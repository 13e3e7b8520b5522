import { noopLogger } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import {
  prefixCacheMatchAttribute,
  prefixCacheMatchDataKey,
  tokenizedPromptAttribute,
  tokenizedPromptDataKey,
} from '../../../plugin/data-keys.js';
import type { PluginHandle } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';
import { isDisaggregationDecider } from '../../../plugin/plugin-interfaces.js';
import type { SchedulingRequest } from '../../../plugin/scheduling-request.js';
import {
  chatCompletionBody,
  completionBody,
  createSchedulingRequest,
} from '../../../scheduling/create-scheduling-request.js';
import { createTestScheduler, createTestSchedulingEndpoint } from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { prefixBasedPdDeciderParameters, prefixBasedPdDeciderPlugin } from './prefix-based-pd-decider.js';
import { estimatePromptTokens } from './prompt-token-count.js';

const plugins = [prefixBasedPdDeciderPlugin].filter((definition) => !builtinPlugins.includes(definition));
const handle: PluginHandle = {
  name: 'prefix-based-pd-decider',
  logger: noopLogger,
  now: () => 0,
  random: () => 0.5,
  plugin: (name) => {
    throw new Error(`no plugin ${name}`);
  },
  endpoints: () => [],
  endpoint: () => undefined,
};

function create(parameters: unknown) {
  const behaviour = prefixBasedPdDeciderPlugin.create(
    prefixBasedPdDeciderParameters.parse(parameters),
    handle,
  );
  if (!isDisaggregationDecider(behaviour)) throw new Error('not a decider');
  return behaviour;
}
function tokenizedRequest(tokens: number): SchedulingRequest {
  const request = createSchedulingRequest({ body: completionBody('m', 'ignored when tokenized') });
  request.attributes.set(tokenizedPromptAttribute, {
    tokenIds: new Array<number>(tokens).fill(7),
    source: 'tokenizer',
  });
  return request;
}
function decodeEndpoint(
  matchBlocks: number | undefined,
  producer = 'approx-prefix-cache-producer',
): SchedulingEndpoint {
  const endpoint = createTestSchedulingEndpoint({ key: '10.0.10.1:8000' });
  if (matchBlocks !== undefined) {
    endpoint.attributes.set(prefixCacheMatchAttribute(producer), {
      matchBlocks,
      totalBlocks: 10,
      blockSizeTokens: 16,
    });
  }
  return endpoint;
}

describe('prefix-based-pd-decider', () => {
  it('disaggregates iff prompt − cached ≥ nonCachedTokens (cached = matchBlocks × blockSizeTokens)', () => {
    // 100-token prompt, 2 blocks × 16 tokens cached → 68 uncached.
    expect(create({ nonCachedTokens: 68 }).shouldDisaggregate(tokenizedRequest(100), decodeEndpoint(2))).toBe(
      true,
    );
    expect(create({ nonCachedTokens: 69 }).shouldDisaggregate(tokenizedRequest(100), decodeEndpoint(2))).toBe(
      false,
    );
    expect(create({ nonCachedTokens: 16 }).shouldDisaggregate(tokenizedRequest(100), decodeEndpoint(6))).toBe(
      false,
    );
    expect(create({ nonCachedTokens: 16 }).shouldDisaggregate(tokenizedRequest(100), decodeEndpoint(0))).toBe(
      true,
    );
  });

  it('never disaggregates with nonCachedTokens 0 (the default)', () => {
    expect(create({}).shouldDisaggregate(tokenizedRequest(100_000), decodeEndpoint(0))).toBe(false);
    expect(create({}).consumes).toEqual({ required: [], optional: [tokenizedPromptDataKey] });
  });

  it('applies the promptTokens minimum and skips prompts shorter than nonCachedTokens', () => {
    expect(
      create({ nonCachedTokens: 10, promptTokens: 101 }).shouldDisaggregate(
        tokenizedRequest(100),
        decodeEndpoint(0),
      ),
    ).toBe(false);
    expect(
      create({ nonCachedTokens: 10, promptTokens: 100 }).shouldDisaggregate(
        tokenizedRequest(100),
        decodeEndpoint(0),
      ),
    ).toBe(true);
    expect(
      create({ nonCachedTokens: 101 }).shouldDisaggregate(tokenizedRequest(100), decodeEndpoint(0)),
    ).toBe(false);
  });

  it('stays decode-only without prefix match data or without a prompt', () => {
    expect(
      create({ nonCachedTokens: 1 }).shouldDisaggregate(tokenizedRequest(100), decodeEndpoint(undefined)),
    ).toBe(false);
    expect(
      create({ nonCachedTokens: 1 }).shouldDisaggregate(createSchedulingRequest(), decodeEndpoint(0)),
    ).toBe(false);
  });

  it('reads the configured producer and declares the data it needs', () => {
    const decider = create({
      nonCachedTokens: 16,
      prefixMatchInfoProducerName: 'precise-prefix-cache-producer',
    });
    expect(decider.shouldDisaggregate(tokenizedRequest(100), decodeEndpoint(6))).toBe(false); // wrong producer: no data
    expect(
      decider.shouldDisaggregate(tokenizedRequest(100), decodeEndpoint(0, 'precise-prefix-cache-producer')),
    ).toBe(true);
    expect(decider.consumes).toEqual({
      required: [prefixCacheMatchDataKey('precise-prefix-cache-producer')],
      optional: [tokenizedPromptDataKey],
    });
  });

  it('estimates 4 bytes per token when no tokenized prompt exists', () => {
    // "user" + 396 × "a" = 400 bytes → 100 tokens.
    const chat = createSchedulingRequest({
      body: chatCompletionBody('m', [{ role: 'user', content: 'a'.repeat(396) }]),
    });
    expect(estimatePromptTokens(chat.body)).toBe(100);
    expect(create({ nonCachedTokens: 100 }).shouldDisaggregate(chat, decodeEndpoint(0))).toBe(true);
    expect(create({ nonCachedTokens: 101 }).shouldDisaggregate(chat, decodeEndpoint(0))).toBe(false);
    expect(estimatePromptTokens(completionBody('m', 'abcdefghij'))).toBe(3); // partial word counts
    expect(estimatePromptTokens(completionBody('m', [1, 2, 3]))).toBe(3); // token ids are exact
    expect(estimatePromptTokens(completionBody('m', 'é'.repeat(4)))).toBe(2); // bytes, not characters
    expect(estimatePromptTokens(undefined)).toBeUndefined();
  });

  it('loads from YAML and names invalid parameters', async () => {
    await expect(
      createTestScheduler({ plugins, config: 'plugins: [{ type: prefix-based-pd-decider }]' }),
    ).resolves.toBeDefined();
    await expect(
      createTestScheduler({
        plugins,
        config: 'plugins: [{ type: prefix-based-pd-decider, parameters: { nonCachedTokens: -1 } }]',
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters\.nonCachedTokens/);
    await expect(
      createTestScheduler({
        plugins,
        config: 'plugins: [{ type: prefix-based-pd-decider, parameters: { threshold: 5 } }]',
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters/);
  });
});
