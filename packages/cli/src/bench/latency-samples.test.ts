import { describe, expect, it } from 'vitest';
import { LatencySamples, percentile } from './latency-samples.js';

describe('percentile', () => {
  it('interpolates between the closest ranks', () => {
    expect(percentile([10], 0.9)).toBe(10);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentile([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9)).toBe(90);
    expect(percentile([1, 2], 0.99)).toBeCloseTo(1.99);
  });
});

describe('LatencySamples', () => {
  it('summarises nothing as nulls', () => {
    expect(new LatencySamples().summarize()).toEqual({ mean: null, p50: null, p90: null, p99: null });
  });

  it('gives exact statistics below capacity', () => {
    const samples = new LatencySamples();
    for (const value of [5, 1, 4, 2, 3]) samples.add(value);
    expect(samples.count).toBe(5);
    expect(samples.summarize()).toEqual({ mean: 3, p50: 3, p90: 4.6, p99: 4.96 });
  });

  it('keeps the mean exact and the percentiles close when sampling beyond capacity', () => {
    const samples = new LatencySamples(1000, 7);
    for (let value = 1; value <= 100_000; value++) samples.add(value);
    const summary = samples.summarize();
    expect(samples.count).toBe(100_000);
    expect(summary.mean).toBe(50_000.5);
    // A seeded uniform sample of 1000: the median lands within 5% of the true one.
    expect(Math.abs((summary.p50 as number) - 50_000)).toBeLessThan(5_000);
  });
});
