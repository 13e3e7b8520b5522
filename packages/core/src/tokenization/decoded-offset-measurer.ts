import { isSeamBoundary } from './seam-boundary.js';
import type {
  Checkpoint,
  CountTokensInput,
  FindCheckpointsInput,
  TokenOffsetMeasurer,
} from './token-offset-measurer.js';

/**
 * Offsets found by decoding token ranges and checking that each decoded piece is exactly the next
 * stretch of the original text. Used where token strings do not map to bytes (Metaspace / sentencepiece
 * style). Ranges end only before tokens that start with the space marker, so they never split a
 * character; the first range that does not match stops the search, since offsets past it are unknown.
 */
export class DecodedOffsetMeasurer implements TokenOffsetMeasurer {
  constructor(
    private readonly decode: (ids: number[]) => string,
    private readonly spaceMarker: string,
  ) {}

  findCheckpoints(input: FindCheckpointsInput): Checkpoint[] {
    const { text, encoded, spacingTokens, stopOffset, tokenIndexBase } = input;
    const { ids, tokens } = encoded;
    const checkpoints: Checkpoint[] = [];
    let previousToken = 0;
    let previousOffset = input.startOffset;
    let lastCheckpoint = 0;
    for (let index = spacingTokens; index < ids.length; index += 1) {
      if (index - lastCheckpoint < spacingTokens) continue;
      const token = tokens[index] ?? '';
      if (token.length < 2 || !token.startsWith(this.spaceMarker)) continue;
      const offset = alignPiece(text, previousOffset, this.decode(ids.slice(previousToken, index)));
      if (offset < 0) break;
      previousToken = index;
      previousOffset = offset;
      if (offset >= stopOffset) break;
      if (isSeamBoundary(text, offset)) {
        checkpoints.push({ tokenIndex: tokenIndexBase + index, charOffset: offset });
        lastCheckpoint = index;
      }
    }
    return checkpoints;
  }

  countTokensBefore(input: CountTokensInput): number {
    const { ids } = input.encoded;
    let count = 0;
    const most = Math.min(input.maxCount, ids.length);
    for (let length = 1; length <= most; length += 1) {
      const offset = alignPiece(input.text, input.startOffset, this.decode(ids.slice(0, length)));
      if (offset < 0 || offset > input.limitOffset) break;
      count = length;
    }
    return count;
  }
}

/** The offset after `piece` when it is the text at `offset`, else -1. */
function alignPiece(text: string, offset: number, piece: string): number {
  if (text.startsWith(piece, offset)) return offset + piece.length;
  // Metaspace decoders drop the leading space of the first token they decode.
  if (text.charCodeAt(offset) === 0x20 && !piece.startsWith(' ') && text.startsWith(piece, offset + 1)) {
    return offset + 1 + piece.length;
  }
  return -1;
}
