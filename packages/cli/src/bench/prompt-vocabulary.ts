import { LlmdError, type Tokenizer } from '@llmd/core';
import type { SeededRandom } from './seeded-random.js';

/**
 * Words that prompts are assembled from. Every word carries its leading space and counts as exactly
 * one unit, so a prompt of `n` words is exactly `n` units long and prompts concatenate without
 * changing each other's counts.
 */
export interface PromptVocabulary {
  /**
   * `tokens` when built from a real tokenizer (each word is one token of it); `words` for the
   * fallback, where lengths are words: exact tokens under the simulator's word tokenizer, roughly
   * 1–3 tokens each under a real model's tokenizer.
   */
  readonly unit: 'tokens' | 'words';
  /** Number of distinct words drawn from. */
  readonly size: number;
  /** Text of exactly `length` units, drawn from `random`. */
  text(random: SeededRandom, length: number): string;
}

export interface PromptVocabularyOptions {
  /** Stop collecting words once this many are found. Defaults to 8192. */
  maximumWords?: number;
  /** Token ids probed (from 0) when looking for words. Defaults to 100,000. */
  maximumProbedIds?: number;
}

/** Plain lowercase ASCII words with their leading space: no byte-fallback pieces, no merges across words. */
const safeWordPattern = /^ [a-z]{3,12}$/;
/** Words joined for the one-time check that words tokenize independently of their neighbours. */
const checkedSampleLength = 2048;

function sameIds(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((id, index) => id === right[index]);
}

function vocabularyOf(unit: PromptVocabulary['unit'], words: readonly string[]): PromptVocabulary {
  return {
    unit,
    size: words.length,
    text(random, length) {
      let text = '';
      for (let index = 0; index < length; index++) text += words[random.integer(0, words.length - 1)];
      return text;
    },
  };
}

/**
 * Words made of consonant–vowel syllables (`" bako"`, `" tire"`): the simulator's word tokenizer
 * turns each into one token, and they are unlikely to be one token of a real model.
 */
function syllableWords(): string[] {
  const consonants = 'bdfgklmnprstvz';
  const vowels = 'aeiou';
  const syllables: string[] = [];
  for (const consonant of consonants) for (const vowel of vowels) syllables.push(consonant + vowel);
  const words: string[] = [];
  for (const first of syllables) for (const second of syllables) words.push(` ${first}${second}`);
  return words;
}

/**
 * Find the words of `tokenizer` that are one token each and round-trip (`encode(decode([id]))` is
 * `[id]`), then check once that a long run of them encodes to exactly the ids it was decoded from.
 * Without a tokenizer the vocabulary is made-up words and lengths are in words.
 *
 * Throws `invalid_argument` when the tokenizer offers too few such words or merges words across
 * spaces (SentencePiece tokenizers without byte-level pre-tokenization can do this).
 */
export function createPromptVocabulary(
  tokenizer?: Tokenizer,
  options: PromptVocabularyOptions = {},
): PromptVocabulary {
  if (tokenizer === undefined) return vocabularyOf('words', syllableWords());
  const maximumWords = options.maximumWords ?? 8192;
  const maximumProbedIds = options.maximumProbedIds ?? 100_000;
  const ids: number[] = [];
  const words: string[] = [];
  for (let id = 0; id < maximumProbedIds && ids.length < maximumWords; id++) {
    let text: string;
    try {
      text = tokenizer.decode([id]);
    } catch {
      // Past the end of the vocabulary.
      break;
    }
    if (!safeWordPattern.test(text)) continue;
    if (!sameIds(tokenizer.encode(text, { addSpecialTokens: false }), [id])) continue;
    ids.push(id);
    words.push(text);
  }
  if (ids.length < 64) {
    throw new LlmdError(
      'invalid_argument',
      `Tokenizer ${tokenizer.name} has only ${ids.length} single-token words; benchmark prompts of exact length cannot be built from it`,
    );
  }
  // Spread the sample over the whole word list, with repeats, as real prompts would use it.
  const sample = Array.from(
    { length: checkedSampleLength },
    (_, index) => ids[(index * 7919) % ids.length] as number,
  );
  if (!sameIds(tokenizer.encode(tokenizer.decode(sample), { addSpecialTokens: false }), sample)) {
    throw new LlmdError(
      'invalid_argument',
      `Tokenizer ${tokenizer.name} does not tokenize space-separated words independently; benchmark prompts of exact length cannot be built from it`,
    );
  }
  return vocabularyOf('tokens', words);
}
