import type { ChatMessage } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { isDisaggregationDecider } from '../../../plugin/plugin-interfaces.js';
import type { SchedulingRequest } from '../../../plugin/scheduling-request.js';
import {
  chatCompletionBody,
  completionBody,
  createSchedulingRequest,
} from '../../../scheduling/create-scheduling-request.js';
import { createTestScheduler, createTestSchedulingEndpoint } from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { alwaysDisaggMultimodalDeciderPlugin } from './always-disagg-multimodal-decider.js';

const plugins = [alwaysDisaggMultimodalDeciderPlugin].filter(
  (definition) => !builtinPlugins.includes(definition),
);
const decider = alwaysDisaggMultimodalDeciderPlugin.create(undefined, undefined as never);
if (!isDisaggregationDecider(decider)) throw new Error('not a decider');
const decodeEndpoint = createTestSchedulingEndpoint();

function chatRequest(messages: ChatMessage[]): SchedulingRequest {
  return createSchedulingRequest({
    body: { kind: 'chat-completions', json: { model: 'm', messages }, model: 'm', stream: false, messages },
  });
}

describe('always-disagg-multimodal-decider', () => {
  it.each([
    ['image_url', { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }],
    ['video_url', { type: 'video_url', video_url: { url: 'https://example.com/cat.mp4' } }],
    ['input_audio', { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }],
  ])('disaggregates encode for %s parts', (_type, part) => {
    const request = chatRequest([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: [{ type: 'text', text: 'what is this?' }, part] },
    ]);
    expect(decider.shouldDisaggregate(request, decodeEndpoint)).toBe(true);
  });

  it('keeps text-only, completions and body-less requests together', () => {
    expect(
      decider.shouldDisaggregate(
        chatRequest([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]),
        decodeEndpoint,
      ),
    ).toBe(false);
    expect(
      decider.shouldDisaggregate(
        createSchedulingRequest({ body: chatCompletionBody('m', [{ role: 'user', content: 'hi' }]) }),
        decodeEndpoint,
      ),
    ).toBe(false);
    expect(
      decider.shouldDisaggregate(
        createSchedulingRequest({ body: completionBody('m', 'hi') }),
        decodeEndpoint,
      ),
    ).toBe(false);
    expect(decider.shouldDisaggregate(createSchedulingRequest(), decodeEndpoint)).toBe(false);
  });

  it('loads from YAML and takes no parameters', async () => {
    await expect(
      createTestScheduler({ plugins, config: 'plugins: [{ type: always-disagg-multimodal-decider }]' }),
    ).resolves.toBeDefined();
    await expect(
      createTestScheduler({
        plugins,
        config: 'plugins: [{ type: always-disagg-multimodal-decider, parameters: { types: [x] } }]',
      }),
    ).rejects.toThrow(
      /plugins\[0\]\.parameters: plugin type "always-disagg-multimodal-decider" takes no parameters/,
    );
  });
});
