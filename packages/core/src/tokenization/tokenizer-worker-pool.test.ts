import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlmdError } from '../errors/llmd-error.js';
import { ValidationError } from '../errors/validation-error.js';
import { qwen3TokenizerDirectory } from './__fixtures__/qwen3-tokenizer.js';
import type { HuggingFaceTokenizer } from './hugging-face-tokenizer.js';
import { loadTokenizer } from './load-tokenizer.js';
import { createTokenizerWorkerPool, type TokenizerWorkerPool } from './tokenizer-worker-pool.js';

const threadsDirectory = '/proc/self/task';

function threadCount(): number {
  return readdirSync(threadsDirectory).length;
}

describe('createTokenizerWorkerPool', () => {
  let local: HuggingFaceTokenizer;
  let pool: TokenizerWorkerPool;
  const texts = [
    'Hello world',
    '<|im_start|>user\nnaïve café, 東京 🎉<|im_end|>\n',
    'Anarchism is a political philosophy and movement that is sceptical of authority. '.repeat(50),
  ];

  beforeAll(async () => {
    local = await loadTokenizer(qwen3TokenizerDirectory());
    pool = createTokenizerWorkerPool({
      source: qwen3TokenizerDirectory(),
      size: 2,
      loadOptions: { modelName: 'qwen' },
    });
    await pool.ready();
  }, 60_000);

  afterAll(async () => {
    await pool.close();
  });

  it('reports its size and names once loaded', () => {
    expect(pool.size).toBe(2);
    expect(pool.name).toBe(qwen3TokenizerDirectory());
    expect(pool.modelName).toBe('qwen');
  });

  it('returns the same ids as in-process encode', async () => {
    const results = await Promise.all(texts.map((text) => pool.tokenize(text)));
    expect(results).toEqual(texts.map((text) => local.encode(text)));
    await expect(pool.tokenize('Hello world', { addSpecialTokens: false })).resolves.toEqual([9707, 1879]);
  });

  it('renders chats like the in-process tokenizer', async () => {
    const messages = [
      { role: 'system' as const, content: 'You are helpful.' },
      { role: 'user' as const, content: 'Hi' },
    ];
    expect(await pool.renderChat(messages)).toEqual(await local.renderChat(messages));
    expect(await pool.renderChat(messages, { addGenerationPrompt: false })).toEqual(
      await local.renderChat(messages, { addGenerationPrompt: false }),
    );
  });

  it('keeps the event loop responsive while tokenizing a 100k-token prompt', async () => {
    const prompt = 'The quick brown fox jumps over the lazy dog near the riverbank. '.repeat(8_500);
    let ticks = 0;
    const timer = setInterval(() => {
      ticks += 1;
    }, 2);
    const ids = await pool.tokenize(prompt);
    clearInterval(timer);
    expect(ids.length).toBeGreaterThan(100_000);
    expect(ids).toEqual(local.encode(prompt));
    expect(ticks).toBeGreaterThan(2);
  }, 60_000);

  it('validates chat messages in the calling thread', async () => {
    await expect(pool.renderChat([{ role: '', content: 'x' }])).rejects.toBeInstanceOf(ValidationError);
    await expect(pool.renderChat([{ role: '', content: 'x' }])).rejects.toMatchObject({
      path: 'messages[0].role',
    });
  });

  it('passes errors raised in a worker back with their code', async () => {
    const error = await pool
      .renderChat([{ role: 'user', content: 'Hi' }], { chatTemplate: '{% if %}' })
      .catch((caught: unknown) => caught);
    expect(LlmdError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'chat_template_failed' });
  });

  it('rejects with the abort reason when the caller aborts', async () => {
    const controller = new AbortController();
    const pending = pool.tokenize('word '.repeat(200_000), { signal: controller.signal });
    controller.abort(new Error('no longer needed'));
    await expect(pending).rejects.toThrow('no longer needed');
    // The pool keeps working after an abandoned request.
    await expect(pool.tokenize('Hello world')).resolves.toEqual([9707, 1879]);
  }, 60_000);

  it('tokenizes identically with a prefix cache in every worker', async () => {
    const cachedPool = createTokenizerWorkerPool({
      source: qwen3TokenizerDirectory(),
      size: 1,
      prefixCache: true,
    });
    try {
      const system = 'You answer questions about the harbour committee and its plans. '.repeat(60);
      for (const question of ['When is the survey?', 'Who pays for dredging?', 'What about the birds?']) {
        expect(await cachedPool.tokenize(`${system}${question}`)).toEqual(
          local.encode(`${system}${question}`),
        );
      }
    } finally {
      await cachedPool.close();
    }
  }, 60_000);

  it('fails ready() when the prefix-cache options are invalid, instead of serving errors forever', async () => {
    const misconfigured = createTokenizerWorkerPool({
      source: qwen3TokenizerDirectory(),
      size: 1,
      prefixCache: { chunkCharacters: 8 },
    });
    try {
      await expect(misconfigured.ready()).rejects.toThrow(/chunkCharacters/);
    } finally {
      await misconfigured.close();
    }
  }, 60_000);

  it.skipIf(!existsSync(threadsDirectory))(
    'terminates its threads on close and rejects later requests',
    async () => {
      const before = threadCount();
      const shortLived = createTokenizerWorkerPool({ source: qwen3TokenizerDirectory(), size: 2 });
      await shortLived.ready();
      expect(threadCount()).toBeGreaterThanOrEqual(before + 2);
      await shortLived.close();
      expect(threadCount()).toBeLessThanOrEqual(before);
      await expect(shortLived.tokenize('Hello world')).rejects.toMatchObject({ code: 'internal' });
      await shortLived.close(); // closing twice is harmless
    },
    60_000,
  );

  it('fails ready() and every request when the tokenizer cannot be loaded', async () => {
    const broken = createTokenizerWorkerPool({ source: '/definitely/missing/tokenizer.json', size: 1 });
    await expect(broken.ready()).rejects.toMatchObject({ code: 'tokenizer_not_found' });
    await expect(broken.tokenize('Hello')).rejects.toMatchObject({
      code: 'tokenizer_not_found',
      message: expect.stringContaining('/definitely/missing/tokenizer.json'),
    });
    await broken.close();
  }, 60_000);

  it('validates its options', () => {
    expect(() => createTokenizerWorkerPool({ source: '', size: 1 })).toThrow(
      expect.objectContaining({ code: 'invalid_config', path: 'source' }),
    );
    expect(() => createTokenizerWorkerPool({ source: 'x', size: 0 })).toThrow(ValidationError);
  });
});

describe('the worker entry file', () => {
  it('is a separate module that does nothing when imported outside a pool worker', async () => {
    const source = await readFile(new URL('./tokenize-worker.ts', import.meta.url), 'utf8');
    expect(source).toContain('isWorkerSetup(workerData)');
    await expect(import('./tokenize-worker.js')).resolves.toBeDefined();
  });
});
