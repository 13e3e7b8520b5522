import { describe, expect, it } from 'vitest';
import { formatResultsJson } from './results-json.js';
import { exampleResult, exampleStep } from './testing-results.js';

const rate = (value: number) => ({ type: 'rate', rate: value }) as const;

describe('formatResultsJson', () => {
  it('writes a versioned document that parses back to the results', () => {
    const result = exampleResult([exampleStep(0, rate(5), { cacheHitRate: null })]);
    const text = formatResultsJson([{ name: 'baseline', result }]);
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toEqual({
      kind: 'llmd-bench-results',
      version: 1,
      results: [{ name: 'baseline', result }],
    });
  });
});
