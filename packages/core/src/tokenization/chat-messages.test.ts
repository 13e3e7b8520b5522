import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/validation-error.js';
import { type ChatMessage, validateChatRequest } from './chat-messages.js';

describe('validateChatRequest', () => {
  it('flattens content to strings and keeps fields it does not model', () => {
    const request = validateChatRequest(
      [
        { role: 'system', content: 'rules' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
        { role: 'assistant', content: null, reasoning_content: 'thinking', vendor_field: 1 },
      ],
      [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
    );
    expect(request.messages.map((message) => message.content)).toEqual(['rules', 'a\nb', '']);
    expect(request.messages[2]).toMatchObject({ reasoning_content: 'thinking', vendor_field: 1 });
    expect(request.tools?.[0]?.function.name).toBe('lookup');
  });

  it('shapes assistant tool calls as vLLM hands them to templates', () => {
    const request = validateChatRequest([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'a', type: 'function', function: { name: 'f', arguments: '{"city": "Paris"}' } },
          { id: 'b', type: 'function', function: { name: 'g', arguments: '' } },
          { id: 'c', type: 'function', function: { name: 'h', arguments: 'not json' } },
          { id: 'd', type: 'function', function: { name: 'i', arguments: '[1]' } },
          { id: 'e', type: 'function', function: { name: 'j', arguments: { x: 1 } } },
        ],
      },
      { role: 'assistant', content: 'done', tool_calls: [] },
      // Only assistant turns are shaped, as in vLLM.
      { role: 'user', content: 'hi', tool_calls: [] },
    ]);
    // TemplateChatMessage omits through an index signature, which loses the typed tool_calls.
    const calls = (request.messages[0] as ChatMessage).tool_calls;
    expect(calls?.map((call) => call.function.arguments)).toEqual([
      { city: 'Paris' },
      {},
      'not json',
      '[1]',
      { x: 1 },
    ]);
    expect(calls?.[0]).toMatchObject({ id: 'a', type: 'function', function: { name: 'f' } });
    expect(request.messages[1]).not.toHaveProperty('tool_calls');
    expect(request.messages[2]).toHaveProperty('tool_calls', []);
  });

  it('names the failing field', () => {
    const cases: [unknown, string][] = [
      [
        [
          { role: 'user', content: 'hi' },
          { role: '', content: 'x' },
        ],
        'messages[1].role',
      ],
      [[{ content: 'hi' }], 'messages[0].role'],
      [[{ role: 'user', content: 42 }], 'messages[0].content'],
      [
        [{ role: 'assistant', tool_calls: [{ function: { arguments: '{}' } }] }],
        'messages[0].tool_calls[0].function.name',
      ],
      ['not a list', 'messages'],
    ];
    for (const [messages, path] of cases) {
      let caught: unknown;
      try {
        validateChatRequest(messages);
      } catch (error) {
        caught = error;
      }
      expect(caught, path).toBeInstanceOf(ValidationError);
      expect(caught, path).toMatchObject({ code: 'invalid_request', path });
    }
  });
});
