import { describe, expect, it } from 'vitest';
import { formatTarget, targetValue } from './named-result.js';

describe('formatTarget', () => {
  it('names rates and concurrency levels', () => {
    expect(formatTarget({ type: 'rate', rate: 2.5 })).toBe('2.5 req/s');
    expect(formatTarget({ type: 'rate', rate: 1 / 3 })).toBe('0.333 req/s');
    expect(formatTarget({ type: 'concurrency', concurrency: 8 })).toBe('8 concurrent');
    expect(targetValue({ type: 'concurrency', concurrency: 8 })).toBe(8);
  });
});
