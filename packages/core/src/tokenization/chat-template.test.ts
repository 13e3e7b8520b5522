import { createRequire } from 'node:module';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/validation-error.js';
import { qwen3TokenizerDirectory } from './__fixtures__/qwen3-tokenizer.js';
import { syntheticMetaspaceTokenizerJson } from './__fixtures__/synthetic-tokenizers.js';
import type { ChatTool } from './chat-messages.js';
import { HuggingFaceTokenizer } from './hugging-face-tokenizer.js';
import { loadTokenizer } from './load-tokenizer.js';

interface NativeTokenizer {
  encode(text: string, pair: null, options: { addSpecialTokens: boolean }): Promise<{ getIds(): number[] }>;
}

const weatherTool: ChatTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Get the weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

const toolInstructions =
  '# Tools\n\nYou may call one or more functions to assist with the user query.\n\n' +
  'You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n' +
  '{"type": "function", "function": {"name": "get_weather", "description": "Get the weather", ' +
  '"parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}\n' +
  '</tools>\n\nFor each function call, return a json object with function name and arguments within ' +
  '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n' +
  '</tool_call>';

describe('chat templates with Qwen3', () => {
  let tokenizer: HuggingFaceTokenizer;
  let native: NativeTokenizer;

  beforeAll(async () => {
    tokenizer = await loadTokenizer(qwen3TokenizerDirectory());
    const nativeModule = createRequire(import.meta.url)('@anush008/tokenizers') as {
      Tokenizer: { fromFile(path: string): NativeTokenizer };
    };
    native = nativeModule.Tokenizer.fromFile(join(qwen3TokenizerDirectory(), 'tokenizer.json'));
  });

  const messages = [
    { role: 'system' as const, content: 'You are helpful.' },
    { role: 'user' as const, content: 'Hi' },
  ];

  it('renders a system and user turn with the generation prompt', () => {
    expect(tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true })).toBe(
      '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('tokenizes the rendering to the exact ids, as the Rust tokenizer does', async () => {
    const expected = [
      151644, 8948, 198, 2610, 525, 10950, 13, 151645, 198, 151644, 872, 198, 13048, 151645, 198, 151644,
      77091, 198,
    ];
    const rendered = tokenizer.applyChatTemplate(messages);
    expect(await tokenizer.renderChat(messages)).toEqual(expected);
    expect((await native.encode(rendered, null, { addSpecialTokens: false })).getIds()).toEqual(expected);
  });

  it('defaults to adding the generation prompt, like vLLM, and can leave it out', () => {
    expect(tokenizer.applyChatTemplate(messages)).toMatch(/<\|im_start\|>assistant\n$/);
    expect(tokenizer.applyChatTemplate(messages, { addGenerationPrompt: false })).toBe(
      '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n',
    );
  });

  it('passes template kwargs such as enable_thinking', () => {
    expect(tokenizer.applyChatTemplate(messages, { templateKwargs: { enable_thinking: false } })).toMatch(
      /<\|im_start\|>assistant\n<think>\n\n<\/think>\n\n$/,
    );
  });

  it('renders tools into the system turn', async () => {
    const conversation = [
      { role: 'system' as const, content: 'You are helpful.' },
      { role: 'user' as const, content: 'Weather in Paris?' },
    ];
    const rendered = tokenizer.applyChatTemplate(conversation, { tools: [weatherTool] });
    expect(rendered).toBe(
      `<|im_start|>system\nYou are helpful.\n\n${toolInstructions}<|im_end|>\n` +
        '<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n',
    );
    const ids = await tokenizer.renderChat(conversation, { tools: [weatherTool] });
    expect(ids).toEqual((await native.encode(rendered, null, { addSpecialTokens: false })).getIds());
    // An empty tool list renders like no tools at all.
    expect(tokenizer.applyChatTemplate(conversation, { tools: [] })).not.toContain('# Tools');
  });

  it('renders assistant tool calls and tool results', () => {
    const rendered = tokenizer.applyChatTemplate(
      [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: { city: 'Paris' } } }],
        },
        { role: 'tool', content: '{"celsius": 21}', tool_call_id: 'call_1' },
      ],
      { tools: [weatherTool] },
    );
    expect(rendered).toContain(
      '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>\n',
    );
    expect(rendered).toContain(
      '<|im_start|>user\n<tool_response>\n{"celsius": 21}\n</tool_response><|im_end|>\n',
    );
  });

  it('parses JSON-string tool-call arguments into a mapping, as vLLM does before rendering', () => {
    const assistantTurn = (argumentsText: string) =>
      tokenizer.applyChatTemplate(
        [
          { role: 'user', content: 'Weather in Paris?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: argumentsText } }],
          },
        ],
        { tools: [weatherTool], addGenerationPrompt: false },
      );
    // Qwen3 prints a string verbatim but a mapping through tojson (Python json.dumps spacing).
    expect(assistantTurn('{"city":"Paris"}')).toContain(
      '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
    );
    // vLLM turns an empty string into {}; a string that is not a JSON object stays as written.
    expect(assistantTurn('')).toContain('{"name": "get_weather", "arguments": {}}');
    expect(assistantTurn('{"city": oops')).toContain('{"name": "get_weather", "arguments": {"city": oops}');
  });

  it('renders a tool without description or parameters with nulls, as vLLM dumps its model', () => {
    const rendered = tokenizer.applyChatTemplate(messages, {
      tools: [{ type: 'function', function: { name: 'now', strict: true } }],
    });
    expect(rendered).toContain(
      '<tools>\n{"type": "function", "function": {"name": "now", "description": null, "parameters": null, "strict": true}}\n</tools>',
    );
  });

  it('joins text content parts', () => {
    const rendered = tokenizer.applyChatTemplate(
      [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'first' },
            { type: 'text', text: 'second' },
          ],
        },
      ],
      { addGenerationPrompt: false },
    );
    expect(rendered).toBe('<|im_start|>user\nfirst\nsecond<|im_end|>\n');
  });

  it('rejects invalid messages with a ValidationError naming the field', () => {
    const invalid = () =>
      tokenizer.applyChatTemplate([
        { role: 'user', content: 'Hi' },
        { role: '', content: 'beep' },
      ]);
    expect(invalid).toThrow(ValidationError);
    expect(invalid).toThrow(expect.objectContaining({ code: 'invalid_request', path: 'messages[1].role' }));
    expect(invalid).toThrow(/^chat request messages\[1\]\.role: /);
    expect(() => tokenizer.applyChatTemplate([])).toThrow(expect.objectContaining({ path: 'messages' }));
    expect(() =>
      tokenizer.applyChatTemplate([
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] },
      ]),
    ).toThrow(
      expect.objectContaining({
        path: 'messages[0].content[0].type',
        message: expect.stringMatching(/in-process/),
      }),
    );
    // Unknown part types pass validation (vLLM accepts them) but cannot be rendered in-process.
    expect(() => tokenizer.applyChatTemplate([{ role: 'user', content: [{ type: 'hologram' }] }])).toThrow(
      expect.objectContaining({
        path: 'messages[0].content[0].type',
        message: expect.stringMatching(/hologram/),
      }),
    );
    expect(() => tokenizer.applyChatTemplate([{ role: 'user', content: [{ type: 'text' }] }])).toThrow(
      expect.objectContaining({
        path: 'messages[0].content[0].type',
        message: expect.stringMatching(/text field/),
      }),
    );
    expect(() =>
      tokenizer.applyChatTemplate(messages, { tools: [{ type: 'function', function: { name: '' } }] }),
    ).toThrow(expect.objectContaining({ path: 'tools[0].function.name' }));
  });

  it('reports broken templates as chat_template_failed', () => {
    expect(() => tokenizer.applyChatTemplate(messages, { chatTemplate: '{% if %}' })).toThrow(
      expect.objectContaining({ code: 'chat_template_failed' }),
    );
    expect(() =>
      tokenizer.applyChatTemplate(messages, {
        chatTemplate: "{{ raise_exception('roles must alternate') }}",
      }),
    ).toThrow(/roles must alternate/);
  });

  it('renders an explicit template source', () => {
    expect(
      tokenizer.applyChatTemplate(messages, {
        chatTemplate: '{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}{{ eos_token }}',
      }),
    ).toBe('[system:You are helpful.][user:Hi]<|im_end|>');
  });
});

describe('chat template selection', () => {
  const namedConfig = {
    bos_token: { content: '<s>', lstrip: false },
    chat_template: [
      { name: 'default', template: '{{ bos_token }}default:{{ messages[0].content }}' },
      { name: 'tool_use', template: '{{ bos_token }}tools:{{ tools[0].function.name }}' },
    ],
  };

  it('picks the tool_use template when tools are given, and accepts template names', () => {
    const tokenizer = new HuggingFaceTokenizer({
      tokenizerJson: syntheticMetaspaceTokenizerJson(),
      tokenizerConfig: namedConfig,
      name: 'synthetic',
    });
    expect(tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }])).toBe('<s>default:hi');
    expect(tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }], { tools: [weatherTool] })).toBe(
      '<s>tools:get_weather',
    );
    expect(
      tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }], {
        chatTemplate: 'tool_use',
        tools: [weatherTool],
      }),
    ).toBe('<s>tools:get_weather');
  });

  it('prefers chat_template.jinja over every template in the config, as transformers does', () => {
    const tokenizer = new HuggingFaceTokenizer({
      tokenizerJson: syntheticMetaspaceTokenizerJson(),
      tokenizerConfig: namedConfig,
      chatTemplateFile: 'file:{{ messages[0].content }}',
      name: 'synthetic',
    });
    expect(tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }])).toBe('file:hi');
    expect(tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }], { tools: [weatherTool] })).toBe(
      'file:hi',
    );
    const withStringTemplate = new HuggingFaceTokenizer({
      tokenizerJson: syntheticMetaspaceTokenizerJson(),
      tokenizerConfig: { chat_template: 'config:{{ messages[0].content }}' },
      chatTemplateFile: 'file:{{ messages[0].content }}',
      name: 'synthetic',
    });
    expect(withStringTemplate.applyChatTemplate([{ role: 'user', content: 'hi' }])).toBe('file:hi');
  });

  it('drops an empty tool_calls list and accepts any role, like vLLM', () => {
    const tokenizer = new HuggingFaceTokenizer({
      tokenizerJson: syntheticMetaspaceTokenizerJson(),
      chatTemplateFile:
        "{% for m in messages %}[{{ m.role }}:{{ 'tool_calls' in m }}:{{ m.tool_calls | length if m.tool_calls is defined else '-' }}]{% endfor %}",
      name: 'synthetic',
    });
    expect(
      tokenizer.applyChatTemplate([
        { role: 'ipython', content: 'out' },
        { role: 'assistant', content: 'plain', tool_calls: [] },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
      ]),
    ).toBe('[ipython:false:-][assistant:false:-][assistant:true:1]');
  });

  it("does not change the caller's messages when shaping tool calls", () => {
    const tokenizer = new HuggingFaceTokenizer({
      tokenizerJson: syntheticMetaspaceTokenizerJson(),
      chatTemplateFile: '{{ messages[0].tool_calls[0].function.arguments.city }}',
      name: 'synthetic',
    });
    const message = {
      role: 'assistant',
      content: null,
      tool_calls: [{ type: 'function' as const, function: { name: 'f', arguments: '{"city": "Paris"}' } }],
    };
    expect(tokenizer.applyChatTemplate([message])).toBe('Paris');
    expect(message.tool_calls[0]?.function.arguments).toBe('{"city": "Paris"}');
  });

  it('uses chat_template.jinja content when the config has no template', () => {
    const tokenizer = new HuggingFaceTokenizer({
      tokenizerJson: syntheticMetaspaceTokenizerJson(),
      chatTemplateFile: 'file:{{ messages[0].content }}',
      name: 'synthetic',
    });
    expect(tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }])).toBe('file:hi');
  });

  it('fails with chat_template_failed when there is no template at all', () => {
    const tokenizer = new HuggingFaceTokenizer({
      tokenizerJson: syntheticMetaspaceTokenizerJson(),
      name: 'bare',
    });
    expect(tokenizer.hasChatTemplate).toBe(false);
    expect(() => tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }])).toThrow(
      expect.objectContaining({ code: 'chat_template_failed', message: expect.stringContaining('bare') }),
    );
  });
});
