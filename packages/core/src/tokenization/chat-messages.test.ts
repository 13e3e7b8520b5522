import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/validation-error.js';
import { validateChatRequest } from './chat-messages.js';

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

  it('names the failing field', () => {
    const cases: [unknown, string][] = [
      [
        [
          { role: 'user', content: 'hi' },
          { role: 'bot', content: 'x' },
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
