import { describe, expect, it } from 'vitest';
import { syntheticMetaspaceTokenizerJson } from './__fixtures__/synthetic-tokenizers.js';
import { DecodedOffsetMeasurer } from './decoded-offset-measurer.js';
import { HuggingFaceTokenizer } from './hugging-face-tokenizer.js';
import { isSeamBoundary } from './seam-boundary.js';

describe('DecodedOffsetMeasurer with a Metaspace tokenizer', () => {
  const tokenizer = new HuggingFaceTokenizer({
    tokenizerJson: syntheticMetaspaceTokenizerJson(),
    name: 'synthetic',
  });
  const measurer = new DecodedOffsetMeasurer(
    (ids) => tokenizer.decode(ids, { cleanUpTokenizationSpaces: false }),
    '\u2581',
  );
  const text =
    'Anarchism is a political philosophy and movement that is sceptical of authority and rejects ' +
    'all involuntary forms of hierarchy. It calls for the abolition of the state, which it holds ' +
    'to be unnecessary. Then 東京 appears, after which offsets can no longer be verified by decoding.';

  it('places checkpoints where the decoded tokens spell exactly the text before them', () => {
    const encoded = tokenizer.encodeToTokens(text, { addSpecialTokens: false });
    const checkpoints = measurer.findCheckpoints({
      text,
      startOffset: 0,
      encoded,
      tokenIndexBase: 0,
      spacingTokens: 3,
      stopOffset: text.length,
    });
    expect(checkpoints.length).toBeGreaterThan(5);
    for (const { tokenIndex, charOffset } of checkpoints) {
      expect(isSeamBoundary(text, charOffset)).toBe(true);
      expect(tokenizer.decode(encoded.ids.slice(0, tokenIndex))).toBe(text.slice(0, charOffset));
    }
    // Byte-fallback tokens for 東京 do not decode back to text here, so the search stops before them.
    expect(checkpoints.at(-1)?.charOffset).toBeLessThan(text.indexOf('東京'));
  });

  it('counts the tokens of a suffix that lie before a limit', () => {
    const start = text.indexOf(' political');
    const encoded = tokenizer.encodeToTokens(text.slice(start), { addSpecialTokens: false });
    const limit = text.indexOf(' movement');
    const count = measurer.countTokensBefore({
      text,
      startOffset: start,
      encoded,
      limitOffset: limit,
      maxCount: 50,
    });
    expect(count).toBeGreaterThan(0);
    expect(` ${tokenizer.decode(encoded.ids.slice(0, count))}`).toBe(text.slice(start, limit));
  });
});
