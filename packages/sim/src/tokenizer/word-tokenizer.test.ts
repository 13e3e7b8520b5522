import { describe, expect, it } from 'vitest';
import { WordTokenizer } from './word-tokenizer.js';

describe('WordTokenizer', () => {
  it('is deterministic across instances and round-trips text', () => {
    const text = 'Hello, world! 42 tokens\n\n  and <|im_end|> markers.';
    const first = new WordTokenizer('m');
    const ids = first.encode(text);
    expect(new WordTokenizer('other').encode(text)).toEqual(ids);
    expect(first.decode(ids)).toBe(text);
    expect(ids.every((id) => id >= 1000 && id < 101_000)).toBe(true);
  });

  it('renders chat as ChatML with a generation prompt', () => {
    const tokenizer = new WordTokenizer('m');
    expect(tokenizer.applyChatTemplate([{ role: 'user', content: 'Hi' }])).toBe(
      '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
  });
});
