import { describe, expect, it } from 'vitest';
import { isRestartablePattern } from './regex-restartability.js';

describe('isRestartablePattern', () => {
  it('accepts the split patterns of common byte-level tokenizers', () => {
    const qwen =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    const llama3 =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    const o200k =
      "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    for (const pattern of [qwen, llama3, o200k, '\\p{N}{1,3}', '[一-龥\u3040-ゟ゠-ヿ]+', '(?<digits>\\d+)']) {
      expect(isRestartablePattern(pattern), pattern).toBe(true);
    }
  });

  it('accepts character classes holding ^, $ and brackets', () => {
    expect(isRestartablePattern('[^a]+')).toBe(true);
    expect(isRestartablePattern('[$^]')).toBe(true);
    expect(isRestartablePattern('[]a]')).toBe(true);
    expect(isRestartablePattern('[\\]^]')).toBe(true);
    expect(isRestartablePattern('[[:alpha:]]+')).toBe(true);
  });

  it('rejects lookbehind, word boundaries and anchors', () => {
    for (const pattern of [
      '(?<=a)b',
      '(?<!a)b',
      '\\bword',
      'a\\B',
      '^start',
      'end$',
      '\\Astart',
      'end\\z',
      '\\Gx',
    ]) {
      expect(isRestartablePattern(pattern), pattern).toBe(false);
    }
  });

  it('rejects malformed patterns', () => {
    expect(isRestartablePattern('[abc')).toBe(false);
    expect(isRestartablePattern('abc\\')).toBe(false);
  });
});
