import { beforeAll, describe, expect, it } from 'vitest';
import { qwen3TokenizerDirectory } from './__fixtures__/qwen3-tokenizer.js';
import { ByteLevelOffsetMeasurer } from './byte-level-offset-measurer.js';
import type { HuggingFaceTokenizer } from './hugging-face-tokenizer.js';
import { loadTokenizer } from './load-tokenizer.js';
import { isSeamBoundary } from './seam-boundary.js';

const text = [
  '<|im_start|>system\nYou are a careful assistant who answers in English, français or 日本語 as asked.<|im_end|>\n',
  '<|im_start|>user\nExplain why the naïve café owner counted 1,234 croissants 🥐🥐 before opening the shop, ',
  'and then summarize the story of the Москва river trip with its many twists and turns.\n\n',
  'Some code follows:\n    def run(self):\n        return self.value  # trailing comment\n',
  'Finally the end of the long message arrives here with plain words only and nothing else at all.',
].join('');

describe('ByteLevelOffsetMeasurer with Qwen3', () => {
  let tokenizer: HuggingFaceTokenizer;
  let measurer: ByteLevelOffsetMeasurer;

  beforeAll(async () => {
    tokenizer = await loadTokenizer(qwen3TokenizerDirectory());
    measurer = new ByteLevelOffsetMeasurer(tokenizer.addedTokens);
  });

  it('places checkpoints where the decoded tokens spell exactly the text before them', () => {
    const encoded = tokenizer.encodeToTokens(text, { addSpecialTokens: false });
    const checkpoints = measurer.findCheckpoints({
      text,
      startOffset: 0,
      encoded,
      tokenIndexBase: 0,
      spacingTokens: 4,
      stopOffset: text.length,
    });
    expect(checkpoints.length).toBeGreaterThan(10);
    let previous = 0;
    for (const { tokenIndex, charOffset } of checkpoints) {
      expect(tokenIndex - previous).toBeGreaterThanOrEqual(4);
      previous = tokenIndex;
      expect(isSeamBoundary(text, charOffset)).toBe(true);
      expect(tokenizer.decode(encoded.ids.slice(0, tokenIndex))).toBe(text.slice(0, charOffset));
    }
  });

  it('reports checkpoints of a suffix in whole-text coordinates and honours stopOffset', () => {
    const start = text.indexOf(' story');
    const encoded = tokenizer.encodeToTokens(text.slice(start), { addSpecialTokens: false });
    const checkpoints = measurer.findCheckpoints({
      text,
      startOffset: start,
      encoded,
      tokenIndexBase: 1000,
      spacingTokens: 2,
      stopOffset: text.indexOf('Some code'),
    });
    expect(checkpoints.length).toBeGreaterThan(3);
    for (const { tokenIndex, charOffset } of checkpoints) {
      expect(charOffset).toBeLessThan(text.indexOf('Some code'));
      expect(tokenizer.decode(encoded.ids.slice(0, tokenIndex - 1000))).toBe(text.slice(start, charOffset));
    }
  });

  it('counts the tokens lying entirely before a limit', () => {
    const start = text.indexOf(' naïve');
    const encoded = tokenizer.encodeToTokens(text.slice(start), { addSpecialTokens: false });
    const limit = text.indexOf('🥐') + 1; // inside the emoji's surrogate pair
    const count = measurer.countTokensBefore({
      text,
      startOffset: start,
      encoded,
      limitOffset: limit,
      maxCount: 100,
    });
    const covered = tokenizer.decode(encoded.ids.slice(0, count));
    expect(text.slice(start).startsWith(covered)).toBe(true);
    expect(start + covered.length).toBeLessThanOrEqual(limit);
    // One more token would cross the limit.
    expect(start + tokenizer.decode(encoded.ids.slice(0, count + 1)).length).toBeGreaterThan(limit - 1);
    expect(
      measurer.countTokensBefore({ text, startOffset: start, encoded, limitOffset: limit, maxCount: 3 }),
    ).toBe(3);
  });
});
