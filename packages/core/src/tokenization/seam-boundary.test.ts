import { describe, expect, it } from 'vitest';
import { isSeamBoundary } from './seam-boundary.js';

describe('isSeamBoundary', () => {
  it('accepts a single ASCII space between letters of any script', () => {
    expect(isSeamBoundary('Hello world', 5)).toBe(true);
    expect(isSeamBoundary('café über', 4)).toBe(true);
    expect(isSeamBoundary('東京 大阪', 2)).toBe(true);
  });

  it('rejects every other position', () => {
    expect(isSeamBoundary('Hello world', 4)).toBe(false);
    expect(isSeamBoundary('Hello  world', 5)).toBe(false);
    expect(isSeamBoundary('Hello\u00a0world', 5)).toBe(false);
    expect(isSeamBoundary('12 34', 2)).toBe(false);
    expect(isSeamBoundary('end. Next', 4)).toBe(false);
    expect(isSeamBoundary('a 1', 1)).toBe(false);
    expect(isSeamBoundary('😀 a', 2)).toBe(false);
    expect(isSeamBoundary(' a', 0)).toBe(false);
    expect(isSeamBoundary('a ', 1)).toBe(false);
  });
});
