/**
 * Small hand-built `tokenizer.json` definitions for pipelines no installed package ships: a
 * sentencepiece-style Metaspace BPE (Llama 2 / Mistral v1 era) and the legacy Llama 2 layout with a
 * Prepend normalizer. The vocabulary is tiny, but tokenizers.js runs the same code as for real ones.
 */

const marker = '\u2581';

const wordPieces = [
  'th',
  'he',
  'in',
  'er',
  'an',
  're',
  'on',
  'at',
  'en',
  'nd',
  'ti',
  'es',
  'or',
  'te',
  'of',
  'ed',
  'is',
  'it',
  'al',
  'ar',
  'st',
  'to',
  'nt',
  'ng',
  'se',
  'ha',
  'as',
  'ou',
  'io',
  'le',
  've',
  'co',
  'me',
  'de',
  'hi',
  'ri',
  'the',
  'and',
  'ing',
  'ion',
  'tion',
  'ment',
  'ism',
  'anarch',
  'state',
  'authority',
  'political',
  'hierarchy',
];
const words = [
  'the',
  'and',
  'of',
  'to',
  'in',
  'is',
  'that',
  'for',
  'it',
  'as',
  'with',
  'was',
  'on',
  'are',
  'be',
  'by',
  'this',
  'an',
  'which',
  'or',
  'from',
  'at',
  'state',
  'movement',
  'anarchism',
  'authority',
  'political',
];

export interface SyntheticMetaspaceOptions {
  prependScheme?: 'always' | 'first' | 'never';
  /** Add a merge gluing `e` to a following `▁`, which makes word seams unsafe. */
  joiningMerge?: boolean;
  /** Add a `<s>` BOS through a TemplateProcessing post-processor, as Llama 2 does. */
  beginningOfSequence?: boolean;
}

function buildVocabulary(targets: readonly string[]): {
  vocab: Record<string, number>;
  merges: [string, string][];
} {
  const vocab: Record<string, number> = {};
  const add = (token: string) => {
    if (!(token in vocab)) vocab[token] = Object.keys(vocab).length;
  };
  for (const special of ['<unk>', '<s>', '</s>']) add(special);
  for (let byte = 0; byte < 256; byte += 1) add(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);
  add(marker);
  for (let code = 0x21; code <= 0x7e; code += 1) add(String.fromCharCode(code));
  for (const character of 'éèàçñöüïâ') add(character);
  const merges: [string, string][] = [];
  const seen = new Set<string>();
  for (const target of targets) {
    // Chain merges left to right; other merges may pre-empt them, which only changes the segmentation.
    let built = target[0] ?? '';
    for (const character of target.slice(1)) {
      const key = `${built} ${character}`;
      if (!seen.has(key)) {
        seen.add(key);
        merges.push([built, character]);
      }
      built += character;
      add(built);
    }
  }
  return { vocab, merges };
}

export function syntheticMetaspaceTokenizerJson(
  options: SyntheticMetaspaceOptions = {},
): Record<string, unknown> {
  const prependScheme = options.prependScheme ?? 'first';
  const targets = [`${marker}${marker}`, ...wordPieces, ...words.map((word) => `${marker}${word}`)];
  if (options.joiningMerge === true) targets.push(`e${marker}`);
  const { vocab, merges } = buildVocabulary(targets);
  const component = { type: 'Metaspace', replacement: marker, prepend_scheme: prependScheme, split: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['<unk>', '<s>', '</s>'].map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: component,
    post_processor:
      options.beginningOfSequence === true
        ? {
            type: 'TemplateProcessing',
            single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
            pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
            special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
          }
        : null,
    decoder: component,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

/** The legacy Llama 2 layout: spaces become `▁` in a normalizer that also prepends one to every section. */
export function syntheticPrependNormalizerTokenizerJson(): Record<string, unknown> {
  const base = syntheticMetaspaceTokenizerJson();
  return {
    ...base,
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: marker },
        { type: 'Replace', pattern: { String: ' ' }, content: marker },
      ],
    },
    pre_tokenizer: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: marker }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
  };
}
