/**
 * Whether a pre-tokenizer split pattern can be restarted in the middle of a text: matching
 * `text.slice(offset)` from its start finds the same pieces as matching the whole text from `offset`,
 * provided `offset` is where a piece starts. That holds unless the pattern looks behind (lookbehind,
 * `\b`, `\B`) or is anchored to the start or end of the input (`^`, `$`, `\A`, `\z`, `\Z`, `\G`).
 * The scan is conservative: anything it cannot classify makes the pattern non-restartable.
 */
export function isRestartablePattern(pattern: string): boolean {
  let inClass = false;
  for (let index = 0; index < pattern.length; index += 1) {
    const character = pattern[index];
    if (character === '\\') {
      const escaped = pattern[index + 1];
      if (escaped === undefined) return false;
      if (!inClass && 'bBAzZG'.includes(escaped)) return false;
      index += 1;
      continue;
    }
    if (inClass) {
      // POSIX bracket expressions such as [[:alpha:]] nest one level; their `]` must not end the class.
      if (character === '[' && pattern[index + 1] === ':') {
        const end = pattern.indexOf(':]', index + 2);
        if (end < 0) return false;
        index = end + 1;
        continue;
      }
      if (character === ']') inClass = false;
      continue;
    }
    if (character === '[') {
      inClass = true;
      // A leading `^` negates the class and a leading `]` is literal; neither is an anchor.
      if (pattern[index + 1] === '^') index += 1;
      if (pattern[index + 1] === ']') index += 1;
      continue;
    }
    if (character === '^' || character === '$') return false;
    if (character === '(' && pattern.startsWith('?<', index + 1)) {
      const kind = pattern[index + 3];
      if (kind === '=' || kind === '!') return false;
    }
  }
  return !inClass;
}
