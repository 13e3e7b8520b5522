import type { BenchTarget } from './arrivals.js';
import type { BenchResult } from './bench-result.js';

/** One routing setup's result, as `--compare a,b,c` produces them. */
export interface NamedBenchResult {
  name: string;
  result: BenchResult;
}

/** `10 req/s` or `8 concurrent`. */
export function formatTarget(target: BenchTarget): string {
  return target.type === 'rate' ? `${formatCompact(target.rate)} req/s` : `${target.concurrency} concurrent`;
}

/** The number a target is plotted at. */
export function targetValue(target: BenchTarget): number {
  return target.type === 'rate' ? target.rate : target.concurrency;
}

/** Up to three decimals, without trailing zeros. */
export function formatCompact(value: number): string {
  return String(Number(value.toFixed(3)));
}
