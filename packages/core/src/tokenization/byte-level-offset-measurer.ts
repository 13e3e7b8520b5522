import { isSeamBoundary } from './seam-boundary.js';
import type {
  Checkpoint,
  CountTokensInput,
  FindCheckpointsInput,
  TokenOffsetMeasurer,
} from './token-offset-measurer.js';

/** The byte-level alphabet's stand-in for the space byte (0x20). */
const byteLevelSpace = '\u0120';

/**
 * Walks a string forward, counting the UTF-8 bytes tokenizers see. Lone surrogates count as the three
 * bytes of U+FFFD, which is what `TextEncoder` (used by the byte-level pre-tokenizer) turns them into.
 */
class Utf8Cursor {
  offset: number;
  bytes = 0;

  constructor(
    private readonly text: string,
    start: number,
  ) {
    this.offset = start;
  }

  /** Advance whole characters until at least `targetBytes` bytes are behind the cursor (or the text ends). */
  advanceToBytes(targetBytes: number): void {
    while (this.bytes < targetBytes && this.offset < this.text.length) this.step();
  }

  /** Advance whole characters while they end at or before `targetOffset` (a split surrogate pair stays ahead). */
  advanceToOffset(targetOffset: number): void {
    while (this.offset < targetOffset && this.offset < this.text.length) {
      if (this.offset + 1 === targetOffset && this.startsSurrogatePair()) return;
      this.step();
    }
  }

  private startsSurrogatePair(): boolean {
    const code = this.text.charCodeAt(this.offset);
    const next = this.text.charCodeAt(this.offset + 1);
    return code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff;
  }

  private step(): void {
    const code = this.text.charCodeAt(this.offset);
    if (code < 0x80) {
      this.bytes += 1;
      this.offset += 1;
    } else if (code < 0x800) {
      this.bytes += 2;
      this.offset += 1;
    } else if (code >= 0xd800 && code <= 0xdbff) {
      const next = this.text.charCodeAt(this.offset + 1);
      const paired = next >= 0xdc00 && next <= 0xdfff;
      this.bytes += paired ? 4 : 3;
      this.offset += paired ? 2 : 1;
    } else {
      this.bytes += 3;
      this.offset += 1;
    }
  }
}

/**
 * Offsets for byte-level BPE tokenizers (GPT-2, Llama 3, Qwen, DeepSeek, …) without decoding: every
 * character of a byte-level token string stands for exactly one byte of the UTF-8 text, and an added
 * token (`<|im_start|>`) stands for its own content. Summing bytes and walking the text's UTF-8 gives
 * exact offsets; a position counts only where the byte sums land on a character boundary.
 */
export class ByteLevelOffsetMeasurer implements TokenOffsetMeasurer {
  private readonly addedTokenBytes: ReadonlyMap<number, number>;

  constructor(addedTokens: ReadonlyMap<number, { content: string }>) {
    const encoder = new TextEncoder();
    this.addedTokenBytes = new Map(
      [...addedTokens].map(([id, token]) => [id, encoder.encode(token.content).length] as const),
    );
  }

  findCheckpoints(input: FindCheckpointsInput): Checkpoint[] {
    const { text, encoded, spacingTokens, stopOffset, tokenIndexBase } = input;
    const { ids, tokens } = encoded;
    const cursor = new Utf8Cursor(text, input.startOffset);
    const checkpoints: Checkpoint[] = [];
    let tokenBytes = 0;
    let lastCheckpoint = 0;
    for (let index = 0; index < ids.length; index += 1) {
      const token = tokens[index] ?? '';
      const id = ids[index] ?? 0;
      if (index - lastCheckpoint >= spacingTokens) {
        cursor.advanceToBytes(tokenBytes);
        if (cursor.offset >= stopOffset) break;
        if (
          cursor.bytes === tokenBytes &&
          token.startsWith(byteLevelSpace) &&
          isSeamBoundary(text, cursor.offset) &&
          asciiTailMatches(token, text, cursor.offset)
        ) {
          checkpoints.push({ tokenIndex: tokenIndexBase + index, charOffset: cursor.offset });
          lastCheckpoint = index;
        }
      }
      tokenBytes += this.addedTokenBytes.get(id) ?? token.length;
    }
    return checkpoints;
  }

  countTokensBefore(input: CountTokensInput): number {
    const { ids, tokens } = input.encoded;
    const cursor = new Utf8Cursor(input.text, input.startOffset);
    cursor.advanceToOffset(input.limitOffset);
    const limitBytes = cursor.bytes;
    let bytes = 0;
    let count = 0;
    while (count < ids.length && count < input.maxCount) {
      bytes += this.addedTokenBytes.get(ids[count] ?? 0) ?? (tokens[count] ?? '').length;
      if (bytes > limitBytes) break;
      count += 1;
    }
    return count;
  }
}

/**
 * An independent check of the byte arithmetic: the printable-ASCII characters of the token after the
 * marker must be the text's characters after the space. Stops at the first non-ASCII byte character,
 * whose text counterpart is part of a multi-byte sequence.
 */
function asciiTailMatches(token: string, text: string, offset: number): boolean {
  for (let index = 1; index < token.length; index += 1) {
    const code = token.charCodeAt(index);
    if (code < 0x21 || code > 0x7e) return true;
    if (text.charCodeAt(offset + index) !== code) return false;
  }
  return true;
}
