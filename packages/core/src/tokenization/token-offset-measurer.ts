import type { EncodedTokens } from './hugging-face-tokenizer.js';

/** A place where a cached tokenization may be cut and resumed: tokens `[0, tokenIndex)` spell `text[0, charOffset)`. */
export interface Checkpoint {
  tokenIndex: number;
  charOffset: number;
}

export interface FindCheckpointsInput {
  text: string;
  /** Where in `text` the encoding starts; `encoded` is the tokenization of `text.slice(startOffset)`. */
  startOffset: number;
  encoded: EncodedTokens;
  /** Token index of `encoded.ids[0]` in the whole text's tokenization. */
  tokenIndexBase: number;
  /** Minimum number of tokens between checkpoints, and before the first one. */
  spacingTokens: number;
  /** No checkpoint at or beyond this offset (where normalization starts changing the text). */
  stopOffset: number;
}

export interface CountTokensInput {
  text: string;
  startOffset: number;
  encoded: EncodedTokens;
  /** Count tokens ending at or before this offset. */
  limitOffset: number;
  maxCount: number;
}

/**
 * Maps tokens back to character offsets in the original text, which tokenizers.js does not report.
 * Each implementation only claims offsets it has verified, so a checkpoint is never misplaced.
 */
export interface TokenOffsetMeasurer {
  /** Checkpoints at seam boundaries (see `isSeamBoundary`), in increasing order. */
  findCheckpoints(input: FindCheckpointsInput): Checkpoint[];
  /** How many leading tokens of `encoded` lie entirely before `limitOffset` (at most `maxCount`). */
  countTokensBefore(input: CountTokensInput): number;
}
