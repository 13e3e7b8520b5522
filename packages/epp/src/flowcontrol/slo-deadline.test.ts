import { describe, expect, it } from 'vitest';
import { sloDeadlineFromHeaders } from './slo-deadline.js';

describe('sloDeadlineFromHeaders', () => {
  it('adds x-llm-d-slo-ttft-ms to the arrival time', () => {
    expect(sloDeadlineFromHeaders({ 'x-llm-d-slo-ttft-ms': '250' }, 1000)).toBe(1250);
  });

  it('reads the deprecated x-slo-ttft-ms alias, preferring the current name', () => {
    expect(sloDeadlineFromHeaders({ 'x-slo-ttft-ms': '100' }, 1000)).toBe(1100);
    expect(sloDeadlineFromHeaders({ 'x-slo-ttft-ms': '100', 'x-llm-d-slo-ttft-ms': '300' }, 1000)).toBe(1300);
  });

  it('ignores missing, empty, invalid and non-positive values', () => {
    for (const value of ['', '  ', 'fast', '-5', '0', 'NaN', 'Infinity']) {
      expect(sloDeadlineFromHeaders({ 'x-llm-d-slo-ttft-ms': value }, 1000)).toBeUndefined();
    }
    expect(sloDeadlineFromHeaders({}, 1000)).toBeUndefined();
  });
});
