import { type ChatMessage, chatMessageText, type Tokenizer } from '@llmd/core';

/** Special markers, words (with their leading space), numbers digit by digit, punctuation runs, whitespace runs. */
const piecePattern = /<\|[a-z_]+\|>| ?\p{L}+| ?\p{N}|\s+(?!\S)|\s+| ?[^\s\p{L}\p{N}]+/gu;
/** Bounded so a long-running simulator does not grow without limit; unknown ids decode as `<id>`. */
const maximumRememberedPieces = 200_000;

function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * The simulator's tokenizer when no real one is configured. Deterministic across processes: a piece
 * (a word with its leading space, a digit, a punctuation run) maps to FNV-1a-32(piece) mod 100,000
 * + 1,000, which gives about 1.3 tokens per English word, close to BPE tokenizers. Decoding knows
 * the pieces this process has encoded. Chat is rendered in ChatML.
 */
export class WordTokenizer implements Tokenizer {
  readonly name = 'llmd-word-tokenizer';
  private readonly pieces = new Map<number, string>();

  constructor(readonly modelName: string) {}

  encode(text: string): number[] {
    const ids: number[] = [];
    for (const match of text.matchAll(piecePattern)) {
      const piece = match[0];
      const id = (fnv1a32(piece) % 100_000) + 1_000;
      if (this.pieces.size < maximumRememberedPieces) this.pieces.set(id, piece);
      ids.push(id);
    }
    return ids;
  }

  decode(ids: readonly number[]): string {
    return ids.map((id) => this.pieces.get(id) ?? `<${id}>`).join('');
  }

  applyChatTemplate(
    messages: readonly ChatMessage[],
    options: { addGenerationPrompt?: boolean } = {},
  ): string {
    let text = '';
    for (const message of messages)
      text += `<|im_start|>${message.role}\n${chatMessageText(message)}<|im_end|>\n`;
    if (options.addGenerationPrompt ?? true) text += '<|im_start|>assistant\n';
    return text;
  }
}
