import type { BenchTarget } from './arrivals.js';
import { formatTarget } from './named-result.js';
import type { OracleHitRate } from './oracle-hit-rate.js';

function percent(value: number | null): string {
  return value === null ? '-' : `${(value * 100).toFixed(1)}%`;
}

/**
 * The oracle's hit rate per load level and overall, as lines under the comparison table (ends with
 * a newline). `targets` label the steps, in step order.
 */
export function formatOracleSummary(oracle: OracleHitRate, targets: ReadonlyArray<BenchTarget>): string {
  const labels = oracle.steps.map((step) => {
    const target = targets[step.index];
    return target ? formatTarget(target) : `step ${step.index + 1}`;
  });
  const width = Math.max('overall'.length, ...labels.map((label) => label.length));
  const lines = [
    `best achievable cache hit (oracle: offline replay of the same requests on ${oracle.pods} pods × ${oracle.blocksPerPod} blocks × ${oracle.blockSize}, longest cached prefix wins):`,
    ...oracle.steps.map(
      (step, index) => `  ${(labels[index] as string).padEnd(width)}  ${percent(step.hitRate)}`,
    ),
    `  ${'overall'.padEnd(width)}  ${percent(oracle.hitRate)}`,
  ];
  return `${lines.join('\n')}\n`;
}
