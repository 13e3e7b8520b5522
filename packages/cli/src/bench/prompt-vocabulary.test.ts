import { LlmdError } from '@llmd/core';
import { WordTokenizer } from '@llmd/sim';
import { describe, expect, it } from 'vitest';
import { createPromptVocabulary } from './prompt-vocabulary.js';
import { createSeededRandom } from './seeded-random.js';
import { loadQwen3Tokenizer } from './testing-tokenizer.js';

describe('createPromptVocabulary with a real tokenizer', () => {
  it('builds text whose Qwen3 token count is exactly the requested length', async () => {
    const tokenizer = await loadQwen3Tokenizer();
    const vocabulary = createPromptVocabulary(tokenizer);
    expect(vocabulary.unit).toBe('tokens');
    expect(vocabulary.size).toBe(8192);
    const random = createSeededRandom(3);
    for (const length of [1, 2, 17, 500, 6000]) {
      const text = vocabulary.text(random, length);
      expect(tokenizer.encode(text, { addSpecialTokens: false })).toHaveLength(length);
    }
  });

  it('keeps counts additive when texts are concatenated (system prompt + question)', async () => {
    const tokenizer = await loadQwen3Tokenizer();
    const vocabulary = createPromptVocabulary(tokenizer, { maximumWords: 500 });
    expect(vocabulary.size).toBe(500);
    const random = createSeededRandom(4);
    const text = vocabulary.text(random, 300) + vocabulary.text(random, 45);
    expect(tokenizer.encode(text)).toHaveLength(345);
  });

  it('refuses a tokenizer without single-token words', () => {
    // The simulator's word tokenizer cannot decode ids it has not seen, so it offers no words.
    const attempt = () => createPromptVocabulary(new WordTokenizer('model'), { maximumProbedIds: 1000 });
    expect(attempt).toThrow(/single-token words/);
    try {
      attempt();
    } catch (error) {
      expect(LlmdError.isInstance(error) && error.code).toBe('invalid_argument');
    }
  });
});

describe('createPromptVocabulary without a tokenizer', () => {
  it('counts words, which the simulator word tokenizer sees as one token each', () => {
    const vocabulary = createPromptVocabulary();
    expect(vocabulary.unit).toBe('words');
    const text = vocabulary.text(createSeededRandom(5), 250);
    expect(text.trim().split(' ')).toHaveLength(250);
    expect(new WordTokenizer('model').encode(text)).toHaveLength(250);
  });

  it('is deterministic for a seed', () => {
    const vocabulary = createPromptVocabulary();
    expect(vocabulary.text(createSeededRandom(9), 40)).toBe(vocabulary.text(createSeededRandom(9), 40));
    expect(vocabulary.text(createSeededRandom(9), 40)).not.toBe(vocabulary.text(createSeededRandom(10), 40));
  });
});
