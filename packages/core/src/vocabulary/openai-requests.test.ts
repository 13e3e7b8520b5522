import { describe, expect, it } from 'vitest';
import { chatCompletionRequestSchema, chatMessageText, completionRequestSchema } from './openai-requests.js';

describe('OpenAI request schemas', () => {
  it('accepts every completion prompt form and keeps unknown fields for the model server', () => {
    for (const prompt of ['hi', ['a', 'b'], [1, 2, 3], [[1], [2, 3]]]) {
      const parsed = completionRequestSchema.parse({ model: 'm', prompt, temperature: 0.2, guided_json: {} });
      expect(parsed.prompt).toEqual(prompt);
      expect(parsed).toHaveProperty('guided_json');
    }
  });

  it('rejects token prompts outside the uint32 range and empty prompts', () => {
    expect(completionRequestSchema.safeParse({ model: 'm', prompt: [-1] }).success).toBe(false);
    expect(completionRequestSchema.safeParse({ model: 'm', prompt: [2 ** 32] }).success).toBe(false);
    expect(completionRequestSchema.safeParse({ model: 'm', prompt: [] }).success).toBe(false);
  });

  it('reads chat messages, tools and cache_salt', () => {
    const parsed = chatCompletionRequestSchema.parse({
      model: 'm',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: [{ type: 'text', text: 'hi' }] },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
        { role: 'tool', content: 'ok', tool_call_id: 'c1' },
      ],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      cache_salt: 'tenant-a',
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(parsed.messages).toHaveLength(4);
    expect(parsed.cache_salt).toBe('tenant-a');
  });

  it('accepts any role and content parts of types it does not know, as vLLM does', () => {
    const parsed = chatCompletionRequestSchema.parse({
      model: 'm',
      messages: [
        { role: 'ipython', content: 'result' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'look: ' },
            { type: 'image_embeds', image_embeds: 'AAAA' },
            { type: 'thinking', thinking: 'hmm' },
            { type: 'text', text: 'this' },
          ],
        },
      ],
    });
    expect(parsed.messages[0]?.role).toBe('ipython');
    expect(parsed.messages[1]?.content).toHaveLength(4);
    expect(chatMessageText(parsed.messages[1] ?? {})).toBe('look: this');
    // Text parts stay typed; a part still needs a string type and a role cannot be empty.
    for (const message of [
      { role: 'user', content: [{ type: 'text' }] },
      { role: 'user', content: [{ type: 'text', text: 1 }] },
      { role: 'user', content: [{ image_url: { url: 'x' } }] },
      { role: '', content: 'x' },
    ]) {
      expect(chatCompletionRequestSchema.safeParse({ model: 'm', messages: [message] }).success).toBe(false);
    }
  });

  it('names the failing field path', () => {
    const result = chatCompletionRequestSchema.safeParse({
      model: 'm',
      messages: [{ role: 'user' }, { role: 42 }],
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['messages', 1, 'role']);
  });
});
