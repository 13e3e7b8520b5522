import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { qwen3TokenizerDirectory } from './__fixtures__/qwen3-tokenizer.js';
import {
  syntheticMetaspaceTokenizerJson,
  syntheticPrependNormalizerTokenizerJson,
} from './__fixtures__/synthetic-tokenizers.js';
import { HuggingFaceTokenizer } from './hugging-face-tokenizer.js';
import { analyzePrefixReuse } from './prefix-reuse-profile.js';

type Json = Record<string, unknown>;

function synthetic(tokenizerJson: Json): HuggingFaceTokenizer {
  return new HuggingFaceTokenizer({ tokenizerJson, name: 'synthetic' });
}

describe('analyzePrefixReuse', () => {
  let qwenJson: Json;
  let qwenConfig: Json;
  const qwenVariant = (changes: Json) =>
    new HuggingFaceTokenizer({
      tokenizerJson: { ...qwenJson, ...changes },
      tokenizerConfig: qwenConfig,
      name: 'variant',
    });

  beforeAll(async () => {
    qwenJson = JSON.parse(await readFile(join(qwen3TokenizerDirectory(), 'tokenizer.json'), 'utf8')) as Json;
    qwenConfig = JSON.parse(
      await readFile(join(qwen3TokenizerDirectory(), 'tokenizer_config.json'), 'utf8'),
    ) as Json;
  });

  it('supports Qwen3 as a byte-level tokenizer with NFC and no special-token wrapping', () => {
    const profile = analyzePrefixReuse(qwenVariant({}));
    expect(profile).toEqual({
      supported: true,
      family: 'byte-level',
      spaceMarker: '\u0120',
      marginCharacters: 64,
      normalizesText: true,
      specialTokens: { prefix: [], suffix: [] },
    });
  });

  it('learns a BOS added by the post-processor (Llama-style)', () => {
    const profile = analyzePrefixReuse(
      qwenVariant({
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
      }),
    );
    expect(profile).toMatchObject({ supported: true, specialTokens: { prefix: [151643], suffix: [] } });
  });

  it('refuses split patterns that look behind', () => {
    const preTokenizer = qwenJson.pre_tokenizer as { pretokenizers: Json[] };
    const [split, byteLevel] = preTokenizer.pretokenizers;
    const profile = analyzePrefixReuse(
      qwenVariant({
        pre_tokenizer: {
          type: 'Sequence',
          pretokenizers: [
            { ...split, pattern: { Regex: '(?<=\\p{L}) |\\p{L}+|\\s+|[^\\s\\p{L}]+' } },
            byteLevel,
          ],
        },
      }),
    );
    expect(profile).toMatchObject({ supported: false, reason: expect.stringContaining('looks behind') });
  });

  it('refuses a byte-level pre-tokenizer that adds a prefix space', () => {
    const profile = analyzePrefixReuse(
      qwenVariant({
        pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true, use_regex: true, trim_offsets: false },
      }),
    );
    expect(profile).toMatchObject({ supported: false, reason: expect.stringContaining('add_prefix_space') });
  });

  it('supports Metaspace BPE whose vocabulary never joins a word to the next space', () => {
    for (const prependScheme of ['always', 'first', 'never'] as const) {
      expect(analyzePrefixReuse(synthetic(syntheticMetaspaceTokenizerJson({ prependScheme })))).toMatchObject(
        {
          supported: true,
          family: 'metaspace',
          spaceMarker: '\u2581',
          normalizesText: false,
        },
      );
    }
    expect(
      analyzePrefixReuse(synthetic(syntheticMetaspaceTokenizerJson({ beginningOfSequence: true }))),
    ).toMatchObject({ supported: true, specialTokens: { prefix: [1], suffix: [] } });
  });

  it('refuses Metaspace vocabularies with a token spanning a word seam', () => {
    expect(
      analyzePrefixReuse(synthetic(syntheticMetaspaceTokenizerJson({ joiningMerge: true }))),
    ).toMatchObject({
      supported: false,
      reason: expect.stringContaining('e\u2581'),
    });
  });

  it('refuses the legacy Llama 2 layout with a Prepend normalizer', () => {
    expect(analyzePrefixReuse(synthetic(syntheticPrependNormalizerTokenizerJson()))).toMatchObject({
      supported: false,
      reason: expect.stringContaining('normalizer Sequence'),
    });
  });

  it('refuses text-rewriting normalizers, non-BPE models and whitespace-stripping added tokens', () => {
    const base = syntheticMetaspaceTokenizerJson();
    expect(analyzePrefixReuse(synthetic({ ...base, normalizer: { type: 'Lowercase' } }))).toMatchObject({
      supported: false,
      reason: expect.stringContaining('Lowercase'),
    });
    const unigram = {
      ...base,
      model: {
        type: 'Unigram',
        unk_id: 0,
        vocab: [
          ['<unk>', 0],
          ['\u2581', -1],
          ['a', -2],
          ['b', -2],
        ],
      },
    };
    expect(analyzePrefixReuse(synthetic(unigram))).toMatchObject({
      supported: false,
      reason: expect.stringContaining('Unigram'),
    });
    const stripping = {
      ...base,
      added_tokens: [
        { id: 2, content: '</s>', special: true, lstrip: true, rstrip: false, normalized: false },
      ],
    };
    expect(analyzePrefixReuse(synthetic(stripping))).toMatchObject({
      supported: false,
      reason: expect.stringContaining('strips'),
    });
  });
});
