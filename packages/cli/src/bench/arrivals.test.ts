import { ValidationError } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { createPoissonGaps, planArrivals, type RateStage } from './arrivals.js';

describe('createPoissonGaps', () => {
  it('repeats for a seed and averages 1/rate', () => {
    const first = createPoissonGaps(20, 1);
    const second = createPoissonGaps(20, 1);
    const gaps = Array.from({ length: 20_000 }, () => first());
    expect(gaps.slice(0, 50)).toEqual(Array.from({ length: 50 }, () => second()));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(0);
    const mean = gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length;
    // Fixed seed: the sample mean is a fixed number; it lies within 3% of 50 ms.
    expect(mean).toBeGreaterThan(48.5);
    expect(mean).toBeLessThan(51.5);
    // Exponential gaps vary: about 63% are shorter than the mean.
    const shorter = gaps.filter((gap) => gap < 50).length / gaps.length;
    expect(shorter).toBeGreaterThan(0.6);
    expect(shorter).toBeLessThan(0.66);
  });
});

describe('planArrivals', () => {
  it('plans one rate stage for poisson arrivals', () => {
    const [stage, ...rest] = planArrivals({ type: 'poisson', rate: 5, durationSeconds: 2 });
    expect(rest).toEqual([]);
    expect(stage).toMatchObject({
      kind: 'rate',
      index: 0,
      target: { type: 'rate', rate: 5 },
      durationMilliseconds: 2000,
      requests: undefined,
    });
  });

  it('plans a ladder with one seeded gap sequence per stage', () => {
    const stages = planArrivals({
      type: 'ladder',
      stages: [
        { rate: 3, requests: 10 },
        { rate: 60, durationSeconds: 1, requests: 100 },
      ],
      seed: 4,
    }) as RateStage[];
    expect(stages.map((stage) => [stage.target, stage.requests, stage.durationMilliseconds])).toEqual([
      [{ type: 'rate', rate: 3 }, 10, undefined],
      [{ type: 'rate', rate: 60 }, 100, 1000],
    ]);
    const [first, second] = stages as [RateStage, RateStage];
    const sample = (stage: RateStage) => {
      const next = stage.gaps();
      return [next(), next(), next()];
    };
    expect(sample(first)).toEqual(sample(first));
    expect(sample(first)).not.toEqual(sample(second));
  });

  it('gives equal gaps for the constant distribution', () => {
    const [stage] = planArrivals({
      type: 'poisson',
      rate: 4,
      requests: 3,
      distribution: 'constant',
    }) as RateStage[];
    const next = (stage as RateStage).gaps();
    expect([next(), next()]).toEqual([250, 250]);
  });

  it('plans a concurrency stage', () => {
    expect(planArrivals({ type: 'concurrency', concurrency: 8, requests: 40 })).toEqual([
      {
        kind: 'concurrency',
        index: 0,
        target: { type: 'concurrency', concurrency: 8 },
        concurrency: 8,
        durationMilliseconds: undefined,
        requests: 40,
      },
    ]);
  });

  it('requires a stop condition and a positive rate, naming the field', () => {
    expect(() => planArrivals({ type: 'poisson', rate: 5 })).toThrow(
      /arrivals durationSeconds: give durationSeconds/,
    );
    expect(() => planArrivals({ type: 'poisson', rate: 0, requests: 1 })).toThrow(ValidationError);
    expect(() => planArrivals({ type: 'ladder', stages: [{ rate: 1 }] })).toThrow(/arrivals stages\[0\]/);
    expect(() => planArrivals({ type: 'ladder', stages: [] })).toThrow(/arrivals stages/);
    expect(() => planArrivals({ type: 'concurrency', concurrency: 2 })).toThrow(ValidationError);
  });
});
