import { createSeededRandom, type SeededRandom } from './seeded-random.js';

/** Milliseconds; `null` when nothing was measured (JSON has no undefined). */
export interface LatencySummary {
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

/**
 * The value below which `fraction` of `sorted` lies, interpolating linearly between the two closest
 * ranks (NumPy's default, which inference-perf reports). `sorted` must be ascending and non-empty.
 */
export function percentile(sorted: ArrayLike<number>, fraction: number): number {
  const position = (sorted.length - 1) * fraction;
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  const lowerValue = sorted[lower] as number;
  return lowerValue + ((sorted[upper] as number) - lowerValue) * (position - lower);
}

/**
 * Latency values with an exact mean and percentiles. Up to `capacity` values are kept exactly;
 * beyond that a uniform reservoir sample (seeded, so repeatable) bounds memory — a long run at a
 * high rate yields millions of inter-token gaps.
 */
export class LatencySamples {
  private readonly values: number[] = [];
  private readonly random: SeededRandom;
  private seen = 0;
  private sum = 0;

  constructor(
    private readonly capacity = 200_000,
    seed = 0,
  ) {
    this.random = createSeededRandom(seed);
  }

  get count(): number {
    return this.seen;
  }

  add(value: number): void {
    this.seen++;
    this.sum += value;
    if (this.values.length < this.capacity) {
      this.values.push(value);
      return;
    }
    const slot = this.random.integer(0, this.seen - 1);
    if (slot < this.capacity) this.values[slot] = value;
  }

  summarize(): LatencySummary {
    if (this.seen === 0) return { mean: null, p50: null, p90: null, p99: null };
    const sorted = Float64Array.from(this.values).sort();
    return {
      mean: this.sum / this.seen,
      p50: percentile(sorted, 0.5),
      p90: percentile(sorted, 0.9),
      p99: percentile(sorted, 0.99),
    };
  }
}
