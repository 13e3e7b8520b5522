import type { HuggingFaceTokenizer } from './hugging-face-tokenizer.js';
import { isRestartablePattern } from './regex-restartability.js';

/** Special tokens the post-processor puts around a single sequence (`[BOS]` before, nothing after). */
export interface SpecialTokenWrapping {
  prefix: readonly number[];
  suffix: readonly number[];
}

export type PrefixReuseFamily = 'byte-level' | 'metaspace';

export type PrefixReuseProfile =
  | {
      supported: true;
      family: PrefixReuseFamily;
      /** The character standing for a space at the start of a token string (`Ġ` or `▁`). */
      spaceMarker: string;
      /** How far before the first differing character a seam must lie. */
      marginCharacters: number;
      /** Whether the normalizer may rewrite text (NFC), so offsets stop where it would. */
      normalizesText: boolean;
      specialTokens: SpecialTokenWrapping | undefined;
    }
  | { supported: false; reason: string; specialTokens: SpecialTokenWrapping | undefined };

type Component = Record<string, unknown>;

const baseMarginCharacters = 64;

/**
 * Decide whether prefix reuse can be exact for a tokenizer, and how. Only pipelines whose seam
 * behaviour is understood qualify (see `isSeamBoundary`): a BPE model; no normalizer or NFC; either
 * byte-level pre-tokenization with restartable split patterns, or Metaspace whose vocabulary has no
 * token joining a non-space to a following space. The verdict is then tested on probe texts with the
 * real tokenizer. Anything else is reported unsupported with the reason, and the prefix cache passes
 * such texts straight to the tokenizer instead of risking wrong tokens.
 */
export function analyzePrefixReuse(tokenizer: HuggingFaceTokenizer): PrefixReuseProfile {
  const specialTokens = findSpecialTokenWrapping(tokenizer);
  const unsupported = (reason: string): PrefixReuseProfile => ({ supported: false, reason, specialTokens });
  const { definition, config } = tokenizer;
  const model = definition.model as Component;

  const modelType = model.type ?? ('merges' in model ? 'BPE' : undefined);
  if (modelType !== 'BPE') return unsupported(`model type ${String(modelType)} is not BPE`);
  if (isNonEmptyString(model.end_of_word_suffix) || isNonEmptyString(model.continuing_subword_suffix)) {
    return unsupported('BPE word suffixes change how tokens map to text');
  }
  if (config.remove_space === true || config.do_lowercase_and_remove_accent === true) {
    return unsupported('tokenizer_config rewrites whitespace or case before tokenizing');
  }
  const strippingToken = definition.added_tokens.find(
    (token) => token.lstrip === true || token.rstrip === true,
  );
  if (strippingToken !== undefined) {
    return unsupported(`added token ${strippingToken.content} strips neighbouring whitespace`);
  }

  const normalization = classifyNormalizer(definition.normalizer);
  if (normalization === 'unsupported') {
    return unsupported(`normalizer ${describe(definition.normalizer)} can rewrite text across a seam`);
  }

  let family: PrefixReuseFamily;
  let spaceMarker: string;
  const decoderType = definition.decoder?.type;
  const preTokenizer = definition.pre_tokenizer as Component | null;
  if (decoderType === 'ByteLevel') {
    const problem = byteLevelPreTokenizerProblem(preTokenizer);
    if (problem !== undefined) return unsupported(problem);
    family = 'byte-level';
    spaceMarker = '\u0120';
  } else if (decoderType === 'Metaspace' && preTokenizer?.type === 'Metaspace') {
    spaceMarker = typeof preTokenizer.replacement === 'string' ? preTokenizer.replacement : '\u2581';
    // tokenizers.js never splits at the marker, so a whole section is one BPE word: a seam is only
    // guaranteed if no token or merge can glue a non-marker character to a following marker.
    const joining = findMarkerJoiningToken(model, spaceMarker);
    if (joining !== undefined)
      return unsupported(`vocabulary token ${JSON.stringify(joining)} spans a word seam`);
    family = 'metaspace';
  } else {
    return unsupported(
      `pre-tokenizer ${describe(preTokenizer)} with decoder ${String(decoderType)} has no known safe seam`,
    );
  }

  const failedProbe = findFailingProbe(tokenizer);
  if (failedProbe !== undefined) {
    return unsupported(`seam probe failed: tokenizing ${JSON.stringify(failedProbe)} in two parts differs`);
  }

  const longestAddedToken = Math.max(0, ...definition.added_tokens.map((token) => token.content.length));
  return {
    supported: true,
    family,
    spaceMarker,
    // An added token starting before a seam must be fully inside the shared text to be matched alike.
    marginCharacters: Math.max(baseMarginCharacters, longestAddedToken + 16),
    normalizesText: normalization === 'nfc',
    specialTokens,
  };
}

function classifyNormalizer(normalizer: Component | null): 'none' | 'nfc' | 'unsupported' {
  if (normalizer === null) return 'none';
  if (normalizer.type === 'NFC') return 'nfc';
  if (normalizer.type === 'Sequence' && Array.isArray(normalizer.normalizers)) {
    let result: 'none' | 'nfc' = 'none';
    for (const inner of normalizer.normalizers as unknown[]) {
      const kind = classifyNormalizer(isComponent(inner) ? inner : { type: 'unknown' });
      if (kind === 'unsupported') return 'unsupported';
      if (kind === 'nfc') result = 'nfc';
    }
    return result;
  }
  return 'unsupported';
}

function byteLevelPreTokenizerProblem(preTokenizer: Component | null): string | undefined {
  if (preTokenizer === null) return 'without a pre-tokenizer every section is one BPE word';
  if (preTokenizer.type === 'ByteLevel') {
    if (preTokenizer.add_prefix_space === true)
      return 'ByteLevel add_prefix_space adds text the offsets cannot see';
    if (preTokenizer.use_regex === false) return 'ByteLevel without regex leaves every section one BPE word';
    return undefined;
  }
  if (preTokenizer.type !== 'Sequence' || !Array.isArray(preTokenizer.pretokenizers)) {
    return `pre-tokenizer ${describe(preTokenizer)} is not a byte-level pipeline`;
  }
  const parts = (preTokenizer.pretokenizers as unknown[]).map((part) => (isComponent(part) ? part : {}));
  const last = parts.at(-1);
  if (last?.type !== 'ByteLevel') return 'byte-level pre-tokenizer sequence does not end with ByteLevel';
  if (last.add_prefix_space === true) return 'ByteLevel add_prefix_space adds text the offsets cannot see';
  let splits = last.use_regex !== false;
  for (const part of parts.slice(0, -1)) {
    if (part.type === 'Digits') continue;
    if (part.type !== 'Split')
      return `pre-tokenizer ${describe(part)} in the sequence has no known safe seam`;
    if (part.invert === true) return 'inverted Split patterns drop unmatched text';
    if (typeof part.behavior === 'string' && part.behavior.toLowerCase() === 'removed') {
      return 'Split with behavior Removed drops text';
    }
    const pattern = isComponent(part.pattern) ? part.pattern : {};
    if (typeof pattern.Regex === 'string') {
      if (!isRestartablePattern(pattern.Regex)) {
        return 'Split pattern looks behind or is anchored, so it cannot restart mid-text';
      }
    } else if (typeof pattern.String !== 'string') {
      return 'Split pattern is neither a regex nor a string';
    }
    splits = true;
  }
  return splits ? undefined : 'the pre-tokenizer sequence never splits text';
}

function findMarkerJoiningToken(model: Component, marker: string): string | undefined {
  const joins = (token: string): boolean => {
    for (let index = token.indexOf(marker, 1); index > 0; index = token.indexOf(marker, index + 1)) {
      if (!token.startsWith(marker, index - marker.length)) return true;
    }
    return false;
  };
  if (isComponent(model.vocab)) {
    for (const token of Object.keys(model.vocab)) if (joins(token)) return token;
  }
  if (Array.isArray(model.merges)) {
    for (const merge of model.merges as unknown[]) {
      const merged = Array.isArray(merge)
        ? merge.join('')
        : typeof merge === 'string'
          ? merge.replace(' ', '')
          : '';
      if (joins(merged)) return merged;
    }
  }
  return undefined;
}

/**
 * Left/right pairs joined by a space at a seam boundary. Each must tokenize in two parts exactly as
 * in one, which exercises the real normalizer, pre-tokenizer, model and added-token handling.
 */
function probePairs(tokenizer: HuggingFaceTokenizer): [string, string][] {
  const pairs: [string, string][] = [
    ['Hello', 'world'],
    ["it's", 'fine'],
    ['naïve', 'café'],
    ['Привет', 'мир'],
    ['東京', '大阪'],
    ['ἀρχή', 'λόγος'],
    ['x', 'y'],
    ['ALLCAPS', 'Word'],
    ['end.\n\nNew', 'paragraph'],
    ['1234abc', 'defg'],
    ['tab\tindented\n    code', 'here'],
    ['emoji 🎉 party', 'time'],
  ];
  const firstAddedToken = tokenizer.definition.added_tokens[0];
  if (firstAddedToken !== undefined) pairs.push([`${firstAddedToken.content}user\nHello`, 'there']);
  return pairs;
}

function findFailingProbe(tokenizer: HuggingFaceTokenizer): string | undefined {
  const raw = (text: string) => tokenizer.encode(text, { addSpecialTokens: false });
  for (const [left, right] of probePairs(tokenizer)) {
    const whole = raw(`${left} ${right}`);
    const parts = [...raw(left), ...raw(` ${right}`)];
    if (!sameIds(whole, parts)) return `${left} ${right}`;
  }
  return undefined;
}

/**
 * Learn the post-processor's special tokens by comparing encodings with and without them. The
 * wrapping must be the same for every probe, otherwise it depends on the text and is not used.
 */
function findSpecialTokenWrapping(tokenizer: HuggingFaceTokenizer): SpecialTokenWrapping | undefined {
  let wrapping: SpecialTokenWrapping | undefined;
  for (const probe of ['a', 'Hello world', 'x y z 12']) {
    const withSpecial = tokenizer.encode(probe, { addSpecialTokens: true });
    const raw = tokenizer.encode(probe, { addSpecialTokens: false });
    const position = indexOfRun(withSpecial, raw);
    if (position < 0) return undefined;
    const found = {
      prefix: withSpecial.slice(0, position),
      suffix: withSpecial.slice(position + raw.length),
    };
    if (
      wrapping !== undefined &&
      !(sameIds(wrapping.prefix, found.prefix) && sameIds(wrapping.suffix, found.suffix))
    ) {
      return undefined;
    }
    wrapping = found;
  }
  return wrapping;
}

function indexOfRun(haystack: readonly number[], needle: readonly number[]): number {
  for (let start = 0; start + needle.length <= haystack.length; start += 1) {
    let matches = true;
    for (let index = 0; index < needle.length; index += 1) {
      if (haystack[start + index] !== needle[index]) {
        matches = false;
        break;
      }
    }
    if (matches) return start;
  }
  return -1;
}

function sameIds(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((id, index) => id === right[index]);
}

function isComponent(value: unknown): value is Component {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonEmptyString(value: unknown): boolean {
  return typeof value === 'string' && value !== '';
}

function describe(component: Component | null): string {
  return component === null ? 'none' : String(component.type);
}
