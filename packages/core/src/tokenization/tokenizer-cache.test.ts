import { describe, expect, it, vi } from 'vitest';
import { LlmdError } from '../errors/llmd-error.js';
import { ValidationError } from '../errors/validation-error.js';
import { qwen3TokenizerDirectory } from './__fixtures__/qwen3-tokenizer.js';
import { createTokenizerCache } from './tokenizer-cache.js';

interface FakeTokenizer {
  source: string;
  close: () => void;
}

function fakeLoader() {
  const load = vi.fn(async (source: string): Promise<FakeTokenizer> => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (source.startsWith('bad')) throw new LlmdError('tokenizer_not_found', `no ${source}`);
    return { source, close: vi.fn() };
  });
  return load;
}

describe('createTokenizerCache', () => {
  it('shares one load between concurrent requests for a source', async () => {
    const load = fakeLoader();
    const cache = createTokenizerCache({ load, maxEntries: 4 });
    const [first, second] = await Promise.all([cache.get('a'), cache.get('a')]);
    expect(first).toBe(second);
    expect(await cache.get('a')).toBe(first);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('evicts the least recently used source and closes it', async () => {
    const load = fakeLoader();
    const cache = createTokenizerCache({ load, maxEntries: 2 });
    const a = await cache.get('a');
    const b = await cache.get('b');
    await cache.get('a'); // a is now more recent than b
    await cache.get('c'); // evicts b
    expect(cache.size).toBe(2);
    expect(cache.has('a')).toBe(true);
    expect(cache.has('b')).toBe(false);
    await vi.waitFor(() => expect(b.close).toHaveBeenCalledTimes(1));
    expect(a.close).not.toHaveBeenCalled();
    await cache.get('b'); // loads again and evicts a, now the least recent
    expect(load).toHaveBeenCalledTimes(4);
    expect(cache.has('c')).toBe(true);
    expect(cache.has('a')).toBe(false);
    await vi.waitFor(() => expect(a.close).toHaveBeenCalledTimes(1));
  });

  it('forgets failed loads so the next request retries', async () => {
    const load = fakeLoader();
    const cache = createTokenizerCache({ load });
    await expect(cache.get('bad-model')).rejects.toMatchObject({ code: 'tokenizer_not_found' });
    expect(cache.has('bad-model')).toBe(false);
    await expect(cache.get('bad-model')).rejects.toThrow('no bad-model');
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('deletes and clears entries', async () => {
    const cache = createTokenizerCache({ load: fakeLoader() });
    await cache.get('a');
    await cache.get('b');
    expect(cache.delete('a')).toBe(true);
    expect(cache.delete('a')).toBe(false);
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('loads real tokenizers with loadTokenizer by default', async () => {
    const cache = createTokenizerCache({ maxEntries: 1 });
    const tokenizer = await cache.get(qwen3TokenizerDirectory());
    expect(tokenizer.encode('Hello world')).toEqual([9707, 1879]);
    expect(await cache.get(qwen3TokenizerDirectory())).toBe(tokenizer);
  });

  it('validates its options', () => {
    expect(() => createTokenizerCache({ maxEntries: 0 })).toThrow(ValidationError);
    expect(() => createTokenizerCache({ maxEntries: 0 })).toThrow(
      expect.objectContaining({ path: 'maxEntries' }),
    );
  });
});
