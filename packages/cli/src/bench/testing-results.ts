import type { BenchTarget } from './arrivals.js';
import type { BenchResult, BenchStepResult } from './bench-result.js';

/** A step result with round numbers, for report tests. */
export function exampleStep(
  index: number,
  target: BenchTarget,
  overrides: Partial<BenchStepResult> = {},
): BenchStepResult {
  return {
    index,
    target,
    durationSeconds: 10,
    requests: 100,
    completed: 100,
    failed: 0,
    cancelled: 0,
    unsentArrivals: 0,
    errorsByStatus: {},
    promptTokens: 72_000,
    cachedTokens: 36_000,
    outputTokens: 10_000,
    cacheHitRate: 0.5,
    outputTokensPerSecond: 1000,
    requestsPerSecond: 10,
    timeToFirstTokenMilliseconds: { mean: 60, p50: 50, p90: 90, p99: 120.5 },
    interTokenLatencyMilliseconds: { mean: 10, p50: 9.5, p90: 12, p99: 20 },
    endToEndLatencyMilliseconds: { mean: 1100, p50: 1050, p90: 1500, p99: 2000 },
    ...overrides,
  };
}

/** A result with the given steps, for report tests. */
export function exampleResult(steps: BenchStepResult[], overrides: Partial<BenchResult> = {}): BenchResult {
  return {
    baseUrl: 'http://127.0.0.1:8000',
    model: 'Qwen/Qwen3-0.6B',
    workload: { type: 'shared-prefix', numGroups: 2 },
    arrivals: { type: 'ladder', stages: [{ rate: 5, requests: 100 }], distribution: 'poisson', seed: 0 },
    unit: 'tokens',
    startedAt: '2026-01-01T00:00:00.000Z',
    durationSeconds: 20,
    aborted: false,
    steps,
    ...overrides,
  };
}
