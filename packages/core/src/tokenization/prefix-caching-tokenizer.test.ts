import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/validation-error.js';
import { findSharedFolder, readVllmKvEventFixture } from '../testing/shared-fixtures.js';
import { qwen3TokenizerDirectory } from './__fixtures__/qwen3-tokenizer.js';
import { SeededRandom } from './__fixtures__/seeded-random.js';
import {
  syntheticMetaspaceTokenizerJson,
  syntheticPrependNormalizerTokenizerJson,
} from './__fixtures__/synthetic-tokenizers.js';
import type { ChatMessage } from './chat-messages.js';
import { type EncodedTokens, HuggingFaceTokenizer } from './hugging-face-tokenizer.js';
import { loadTokenizer } from './load-tokenizer.js';
import { createPrefixCachingTokenizer, type PrefixCacheOptions } from './prefix-caching-tokenizer.js';
import type { EncodeOptions } from './tokenizer.js';

type Json = Record<string, unknown>;

// Real text: the prompt of the vLLM capture when the shared fixtures are present, else a paragraph
// of ordinary English written for this test.
const englishFallback =
  'The committee met on a grey Tuesday morning to review the harbour expansion plans. Several members ' +
  "questioned whether the town's budget could absorb another year of delays, and the treasurer reminded " +
  'everyone that the original estimate had already doubled. After a long discussion about dredging, tides ' +
  'and the migratory birds nesting near the old pier, they agreed to commission an independent survey ' +
  'before spending anything further. The mayor closed the session by thanking the volunteers who had ' +
  'counted boats every weekend since spring, noting that their tallies were more reliable than the radar.';
const sharedFolder = findSharedFolder();
const realText =
  sharedFolder === undefined
    ? englishFallback
    : readVllmKvEventFixture(sharedFolder, 'kv_event_base.json').prompt;

const unicodePieces = [
  '東京',
  '大阪の夜',
  '😀',
  '🎉🥐',
  'café',
  'naïve',
  'e\u0301',
  'Ωμέγα',
  'Привет',
  'ß',
  'ﬁ',
];
const whitespacePieces = [' ', '  ', '\n', '\n\n', '\t', '\r\n', '    ', '\u00a0', '\u200b'];
const specialPieces = ['<|im_start|>', '<|im_end|>', '<|endoftext|>', '<think>', '</tool_call>'];
const otherPieces = ['2024', '3.14159', 'if (x) {\n  return y;\n}\n', "don't", 'HTTP/2', '—', '...'];

/** Mostly real text, interleaved with unicode, whitespace runs, special tokens, digits and code. */
function randomText(random: SeededRandom, length: number, asciiOnly = false): string {
  let text = '';
  while (text.length < length) {
    const roll = random.next();
    if (roll < 0.7 || asciiOnly) {
      const start = random.integer(0, realText.length - 1);
      text += realText.slice(start, start + random.integer(1, 400));
    } else if (roll < 0.8) text += random.pick(unicodePieces);
    else if (roll < 0.9) text += random.pick(whitespacePieces);
    else if (roll < 0.95) text += random.pick(specialPieces);
    else text += random.pick(otherPieces);
  }
  return text;
}

interface Mismatch {
  trial: number;
  variant: number;
  length: number;
}

/**
 * Texts sharing prefixes of random length, cut anywhere (mid-word, mid-emoji, inside special tokens),
 * continued in several ways; every prefix-cached tokenization must equal the cold one.
 */
function compareRandomSplits(
  base: HuggingFaceTokenizer,
  options: PrefixCacheOptions,
  seed: number,
  trials: number,
  encodeOptions: EncodeOptions = {},
  asciiOnly = false,
) {
  const cached = createPrefixCachingTokenizer(base, options);
  const random = new SeededRandom(seed);
  const mismatches: Mismatch[] = [];
  for (let trial = 0; trial < trials; trial += 1) {
    const shared = randomText(random, random.integer(600, 5000), asciiOnly);
    const cut = shared.slice(0, random.integer(Math.floor(shared.length / 3), shared.length));
    const first = cut + randomText(random, random.integer(1, 800), asciiOnly);
    const variants = [
      first,
      // A continuation starting with letters merges with a word cut in half.
      `${cut}${random.pick(['ing', 'e', 's ', 'tion of'])}${randomText(random, random.integer(1, 300), asciiOnly)}`,
      cut + randomText(random, random.integer(1, 300), asciiOnly),
      // A later turn of the same conversation, and a truncation.
      `${first}${random.pick(['\n', ' ', ''])}${randomText(random, random.integer(1, 600), asciiOnly)}`,
      first.slice(0, random.integer(0, first.length)),
    ];
    for (const [variant, text] of variants.entries()) {
      const expected = base.encode(text, encodeOptions);
      const actual = cached.encode(text, encodeOptions);
      if (expected.length !== actual.length || expected.some((id, index) => id !== actual[index])) {
        mismatches.push({ trial, variant, length: text.length });
      }
    }
  }
  return { mismatches, statistics: cached.statistics() };
}

describe('createPrefixCachingTokenizer with Qwen3', () => {
  let qwen: HuggingFaceTokenizer;
  let qwenJson: Json;
  let qwenConfig: Json;

  beforeAll(async () => {
    qwen = await loadTokenizer(qwen3TokenizerDirectory());
    qwenJson = JSON.parse(await readFile(join(qwen3TokenizerDirectory(), 'tokenizer.json'), 'utf8')) as Json;
    qwenConfig = JSON.parse(
      await readFile(join(qwen3TokenizerDirectory(), 'tokenizer_config.json'), 'utf8'),
    ) as Json;
  });

  it('returns exactly the cold tokenization across random splits (default settings)', () => {
    const { mismatches, statistics } = compareRandomSplits(qwen, {}, 1, 150);
    expect(mismatches).toEqual([]);
    expect(statistics.prefixHits).toBeGreaterThan(300);
    expect(statistics.seamMismatches).toBe(0);
    expect(statistics.reusedTokens).toBeGreaterThan(50_000);
  }, 60_000);

  it('returns exactly the cold tokenization with small chunks and dense checkpoints', () => {
    const { mismatches, statistics } = compareRandomSplits(
      qwen,
      { chunkCharacters: 32, checkpointSpacingTokens: 4, minimumTextCharacters: 64, maxEntries: 64 },
      2,
      150,
    );
    expect(mismatches).toEqual([]);
    expect(statistics.prefixHits).toBeGreaterThan(400);
    expect(statistics.evictions).toBeGreaterThan(0);
  }, 60_000);

  it('reuses the system prompt for the shared-prefix shape', () => {
    const cached = createPrefixCachingTokenizer(qwen);
    const systemPrompt = `You are a support assistant.\n\n${realText.repeat(Math.ceil(12_000 / realText.length))}`;
    const questions = [
      'How do I reset it?',
      'Why is it slow today?',
      'Can I get a refund?',
      'Who built this?',
    ];
    const systemTokens = qwen.encode(systemPrompt).length;
    for (const question of questions) {
      const prompt = `${systemPrompt}\n\nQuestion: ${question} Please answer in detail and cite the text above.`;
      expect(cached.encode(prompt)).toEqual(qwen.encode(prompt));
    }
    const statistics = cached.statistics();
    expect(statistics).toMatchObject({
      requests: 4,
      misses: 1,
      prefixHits: 3,
      seamMismatches: 0,
      entries: 4,
    });
    // Each hit reused all of the system prompt except the tokens just before the seam.
    expect(statistics.reusedTokens).toBeGreaterThan(3 * (systemTokens - 100));
    expect(statistics.tokenizedCharacters).toBeLessThan(systemPrompt.length * 1.2);
  });

  it('serves a repeated text from the cache', () => {
    const cached = createPrefixCachingTokenizer(qwen);
    const text = realText.repeat(3);
    const first = cached.encode(text);
    const second = cached.encode(text);
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    expect(cached.statistics()).toMatchObject({ exactHits: 1, misses: 1 });
  });

  it('reuses earlier turns of a growing chat conversation', async () => {
    const cached = createPrefixCachingTokenizer(qwen);
    const conversation: ChatMessage[] = [
      { role: 'system', content: `Use this document:\n${realText.repeat(2)}` },
    ];
    for (let turn = 0; turn < 4; turn += 1) {
      conversation.push({
        role: 'user',
        content: `Question ${turn}: what does paragraph ${turn} say about it?`,
      });
      expect(await cached.renderChat(conversation)).toEqual(await qwen.renderChat(conversation));
      conversation.push({
        role: 'assistant',
        content: `It says ${realText.slice(turn * 50, turn * 50 + 200)}`,
      });
    }
    expect(cached.statistics()).toMatchObject({ prefixHits: 3, misses: 1 });
  });

  it('passes short texts straight through', () => {
    const cached = createPrefixCachingTokenizer(qwen);
    expect(cached.encode('Hello world')).toEqual([9707, 1879]);
    expect(cached.statistics()).toMatchObject({ requests: 1, bypassed: 1, entries: 0 });
  });

  it('adds the BOS of a Llama-style post-processor around reused tokens', () => {
    const withBos = new HuggingFaceTokenizer({
      tokenizerJson: {
        ...qwenJson,
        post_processor: {
          type: 'TemplateProcessing',
          single: [
            { SpecialToken: { id: '<|endoftext|>', type_id: 0 } },
            { Sequence: { id: 'A', type_id: 0 } },
          ],
          pair: [],
          special_tokens: {
            '<|endoftext|>': { id: '<|endoftext|>', ids: [151643], tokens: ['<|endoftext|>'] },
          },
        },
      },
      tokenizerConfig: qwenConfig,
      name: 'qwen-with-bos',
    });
    for (const addSpecialTokens of [true, false]) {
      const { mismatches, statistics } = compareRandomSplits(withBos, {}, 3, 15, { addSpecialTokens });
      expect(mismatches).toEqual([]);
      expect(statistics.prefixHits).toBeGreaterThan(20);
    }
    const cached = createPrefixCachingTokenizer(withBos);
    expect(cached.encode(realText)[0]).toBe(151643);
  }, 60_000);

  it('falls back to a cold tokenization when the seam check disagrees', () => {
    // Pretends that restarting at a seam tokenizes differently; the cache must notice and not use it.
    class SeamBreakingTokenizer extends HuggingFaceTokenizer {
      breakSeams = false;
      override encodeToTokens(text: string, options?: EncodeOptions): EncodedTokens {
        const encoded = super.encodeToTokens(text, options);
        if (this.breakSeams && text.startsWith(' ') && encoded.ids.length > 0) {
          encoded.ids[0] = ((encoded.ids[0] ?? 0) + 1) % 1000;
        }
        return encoded;
      }
    }
    const breaking = new SeamBreakingTokenizer({
      tokenizerJson: qwenJson,
      tokenizerConfig: qwenConfig,
      name: 'x',
    });
    const cached = createPrefixCachingTokenizer(breaking);
    breaking.breakSeams = true;
    const shared = realText.repeat(4);
    for (const ending of [' First ending.', ' Second ending.', ' Third ending.']) {
      expect(cached.encode(shared + ending)).toEqual(qwen.encode(shared + ending));
    }
    expect(cached.statistics()).toMatchObject({ seamMismatches: 2, prefixHits: 0, misses: 3 });
  });

  it('steps back a checkpoint when too few fresh tokens can be verified, and gives up beyond that', () => {
    const shared = realText.repeat(4);
    const endings = [' First ending.', ' Second ending.'];
    // 40 compared tokens need at least 20 inside the shared text: more than the 64-character margin
    // holds, so the checkpoint before the nearest one is used.
    const steppingBack = createPrefixCachingTokenizer(qwen, { seamVerificationTokens: 40 });
    for (const ending of endings)
      expect(steppingBack.encode(shared + ending)).toEqual(qwen.encode(shared + ending));
    expect(steppingBack.statistics()).toMatchObject({ prefixHits: 1, seamMismatches: 0 });
    // 400 compared tokens need 200 inside: no checkpoint within reach qualifies, so it tokenizes cold.
    const givingUp = createPrefixCachingTokenizer(qwen, { seamVerificationTokens: 400 });
    for (const ending of endings)
      expect(givingUp.encode(shared + ending)).toEqual(qwen.encode(shared + ending));
    expect(givingUp.statistics()).toMatchObject({ prefixHits: 0, seamMismatches: 1, misses: 2 });
  });

  it('keeps within its entry and character budgets', () => {
    const byEntries = createPrefixCachingTokenizer(qwen, { maxEntries: 2 });
    for (let index = 0; index < 5; index += 1) byEntries.encode(`${index} ${realText.repeat(2)}`);
    expect(byEntries.statistics()).toMatchObject({ entries: 2, evictions: 3 });

    const byCharacters = createPrefixCachingTokenizer(qwen, { maxTotalCharacters: realText.length * 5 });
    for (let index = 0; index < 5; index += 1) byCharacters.encode(`${index} ${realText.repeat(2)}`);
    expect(byCharacters.statistics().totalCharacters).toBeLessThanOrEqual(realText.length * 5);
    expect(byCharacters.statistics().entries).toBe(2);
    byCharacters.encode(realText.repeat(6)); // larger than the whole budget: tokenized, not remembered
    expect(byCharacters.statistics().entries).toBe(2);

    byCharacters.clear();
    expect(byCharacters.statistics()).toMatchObject({ entries: 0, totalCharacters: 0 });
  });

  it('validates its options', () => {
    expect(() => createPrefixCachingTokenizer(qwen, { chunkCharacters: 0 })).toThrow(ValidationError);
    expect(() => createPrefixCachingTokenizer(qwen, { maxEntries: -1 })).toThrow(
      expect.objectContaining({ code: 'invalid_config', path: 'maxEntries' }),
    );
  });
});

describe('createPrefixCachingTokenizer with Metaspace (sentencepiece-style) tokenizers', () => {
  for (const prependScheme of ['first', 'always', 'never'] as const) {
    it(`returns exactly the cold tokenization with prepend_scheme ${prependScheme}`, () => {
      const tokenizer = new HuggingFaceTokenizer({
        tokenizerJson: syntheticMetaspaceTokenizerJson({ prependScheme, beginningOfSequence: true }),
        name: `metaspace-${prependScheme}`,
      });
      const ascii = compareRandomSplits(tokenizer, { minimumTextCharacters: 256 }, 4, 40, {}, true);
      expect(ascii.mismatches).toEqual([]);
      expect(ascii.statistics.prefixHits).toBeGreaterThan(50);
      // With unicode, byte-fallback tokens stop the offset search early: fewer hits, same results.
      const mixed = compareRandomSplits(tokenizer, { minimumTextCharacters: 256 }, 5, 40);
      expect(mixed.mismatches).toEqual([]);
    }, 60_000);
  }

  it('passes every text through for tokenizers without a safe seam', () => {
    for (const tokenizerJson of [
      syntheticPrependNormalizerTokenizerJson(),
      syntheticMetaspaceTokenizerJson({ joiningMerge: true }),
    ]) {
      const tokenizer = new HuggingFaceTokenizer({ tokenizerJson, name: 'unsafe' });
      const { mismatches, statistics } = compareRandomSplits(
        tokenizer,
        { minimumTextCharacters: 256 },
        6,
        10,
      );
      expect(mismatches).toEqual([]);
      expect(statistics.bypassed).toBe(statistics.requests);
      expect(createPrefixCachingTokenizer(tokenizer).profile.supported).toBe(false);
    }
  });
});
