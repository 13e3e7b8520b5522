import { beforeAll, describe, expect, it } from 'vitest';
import { LlmdError } from '../errors/llmd-error.js';
import {
  findSharedFolder,
  readVllmKvEventFixture,
  sharedFixturesMissingMessage,
} from '../testing/shared-fixtures.js';
import { qwen3TokenizerDirectory } from './__fixtures__/qwen3-tokenizer.js';
import { HuggingFaceTokenizer } from './hugging-face-tokenizer.js';
import { loadTokenizer } from './load-tokenizer.js';

const shared = findSharedFolder();
const capture = shared === undefined ? undefined : readVllmKvEventFixture(shared, 'kv_event_base.json');

describe('HuggingFaceTokenizer with Qwen3', () => {
  let tokenizer: HuggingFaceTokenizer;

  beforeAll(async () => {
    tokenizer = await loadTokenizer(qwen3TokenizerDirectory(), { modelName: 'Qwen/Qwen3-0.6B' });
  });

  it('encodes "Hello world" to the ids Qwen3 uses', () => {
    expect(tokenizer.encode('Hello world')).toEqual([9707, 1879]);
    // Qwen's post-processor adds no special tokens.
    expect(tokenizer.encode('Hello world', { addSpecialTokens: false })).toEqual([9707, 1879]);
  });

  it('reports its names', () => {
    expect(tokenizer.modelName).toBe('Qwen/Qwen3-0.6B');
    expect(tokenizer.name).toBe(qwen3TokenizerDirectory());
    expect(tokenizer.hasChatTemplate).toBe(true);
  });

  it('keeps special tokens written in the text as single tokens', () => {
    expect(tokenizer.encode('<|im_start|>user\nHi<|im_end|>')).toEqual([151644, 872, 198, 13048, 151645]);
  });

  it('returns the token strings alongside the ids', () => {
    expect(tokenizer.encodeToTokens('Hello world')).toEqual({
      ids: [9707, 1879],
      tokens: ['Hello', '\u0120world'],
    });
  });

  it('decodes back to the text, optionally without special tokens', () => {
    const text = '<|im_start|>user\nnaïve café, 東京 🎉<|im_end|>';
    const ids = tokenizer.encode(text);
    expect(tokenizer.decode(ids)).toBe(text);
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe('user\nnaïve café, 東京 🎉');
    expect(tokenizer.decode([])).toBe('');
  });

  it('rejects token ids outside the vocabulary', () => {
    expect(() => tokenizer.decode([1, 10_000_000])).toThrow(
      expect.objectContaining({ code: 'invalid_token_ids' }) as unknown as Error,
    );
    expect(() => tokenizer.decode([-1])).toThrow(LlmdError);
  });

  it('implements the AsyncTokenizer shape', async () => {
    await expect(tokenizer.tokenize('Hello world')).resolves.toEqual([9707, 1879]);
    await expect(tokenizer.renderChat([{ role: 'user', content: 'Hi' }])).resolves.toEqual([
      151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198,
    ]);
    const controller = new AbortController();
    controller.abort(new Error('caller gave up'));
    await expect(tokenizer.tokenize('Hello', { signal: controller.signal })).rejects.toThrow(
      'caller gave up',
    );
  });

  describe.skipIf(capture === undefined)(
    `against the real vLLM capture kv_event_base.json (${shared ?? sharedFixturesMissingMessage})`,
    () => {
      it('tokenizes the captured prompt to the token ids vLLM used', () => {
        const ids = tokenizer.encode(capture?.prompt ?? '');
        expect(capture?.token_ids).toHaveLength(400);
        expect(ids.length).toBeGreaterThanOrEqual(400);
        expect(ids.slice(0, 400)).toEqual(capture?.token_ids);
      });
    },
  );
});

describe('HuggingFaceTokenizer with a vocabulary that cannot cover the text', () => {
  it('fails with tokenizer_load_failed instead of returning missing ids', async () => {
    // WordPiece maps unknown words to unk_token; when that token is not in the vocabulary,
    // tokenizers.js yields no id at all.
    const tokenizer = new HuggingFaceTokenizer({
      tokenizerJson: {
        pre_tokenizer: { type: 'Whitespace' },
        model: {
          type: 'WordPiece',
          unk_token: '[UNK]',
          continuing_subword_prefix: '##',
          max_input_chars_per_word: 100,
          vocab: { hello: 0, world: 1 },
        },
      },
      name: 'wordpiece-without-unk',
    });
    expect(tokenizer.encode('hello world')).toEqual([0, 1]);
    for (const attempt of [() => tokenizer.encode('hello mars'), () => tokenizer.encodeToTokens('mars')]) {
      expect(attempt).toThrow(
        expect.objectContaining({
          code: 'tokenizer_load_failed',
          message: expect.stringContaining('wordpiece-without-unk'),
        }),
      );
    }
    await expect(tokenizer.tokenize('mars')).rejects.toThrow(LlmdError);
  });
});
