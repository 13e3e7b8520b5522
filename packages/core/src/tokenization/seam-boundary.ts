const letterPattern = /^\p{L}$/u;

function isLetterAt(text: string, offset: number): boolean {
  const character = text[offset];
  // A lone UTF-16 unit of a surrogate pair fails the test, which only makes the check stricter.
  return character !== undefined && letterPattern.test(character);
}

/**
 * Whether a tokenization may restart at `offset`: a letter, then an ASCII space at `offset`, then a
 * letter. Every GPT-style pre-tokenizer regex ends a word at such a space without looking further
 * than the space, and starts a new piece at it (` word`); the Metaspace pre-tokenizer maps the space
 * to `▁`, which starts a new piece without a prepended marker. Normalization (NFC) cannot compose
 * across a space either. So tokens before the offset do not depend on the text after it, and
 * tokenizing `text.slice(offset)` alone yields the same tokens as the whole text does from there.
 * Other boundaries (inside whitespace runs, after digits or punctuation) lack one of these properties
 * for some tokenizer, so the prefix cache never restarts there.
 */
export function isSeamBoundary(text: string, offset: number): boolean {
  return text.charCodeAt(offset) === 0x20 && isLetterAt(text, offset - 1) && isLetterAt(text, offset + 1);
}
