import { describe, expect, it } from 'vitest';
import { formatBenchTable, formatComparisonTable, formatMilliseconds } from './report-table.js';
import { exampleResult, exampleStep } from './testing-results.js';

const rate = (value: number) => ({ type: 'rate', rate: value }) as const;

describe('formatMilliseconds', () => {
  it('keeps precision where it matters and marks missing values', () => {
    expect([
      formatMilliseconds(null),
      formatMilliseconds(1.234),
      formatMilliseconds(123.45),
      formatMilliseconds(4321.6),
    ]).toEqual(['-', '1.23', '123.5', '4322']);
  });
});

describe('formatBenchTable', () => {
  it('prints one aligned row per step', () => {
    const table = formatBenchTable(
      exampleResult([
        exampleStep(0, rate(5)),
        exampleStep(1, rate(20), { cacheHitRate: null, requests: 2000 }),
      ]),
    );
    const lines = table.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(
      /^load\s+requests\s+errors\s+TTFT p50 ms\s+TTFT p90 ms\s+TTFT p99 ms\s+ITL p50 ms/,
    );
    expect(lines[1]).toMatch(/^-+( +-+)+$/);
    expect(lines[2]).toMatch(
      /^5 req\/s\s+100\s+0\s+50\.0\s+90\.0\s+120\.5\s+9\.50\s+12\.0\s+1050\s+1500\s+1000\.0\s+10\.00\s+50\.0%$/,
    );
    expect(lines[3]).toMatch(/^20 req\/s\s+2000\s.*\s-$/);
    // Right-aligned numbers end in the same column as their header.
    const headerEnd = (lines[0] as string).indexOf('requests') + 'requests'.length;
    expect((lines[2] as string).slice(0, headerEnd).endsWith(' 100')).toBe(true);
    expect((lines[3] as string).slice(0, headerEnd).endsWith('2000')).toBe(true);
  });

  it('lists errors by status, unsent arrivals and an aborted run under the table', () => {
    const table = formatBenchTable(
      exampleResult(
        [
          exampleStep(0, rate(5), {
            failed: 4,
            errorsByStatus: { '404': 3, network: 1 },
            unsentArrivals: 7,
            cancelled: 2,
          }),
        ],
        { aborted: true },
      ),
    );
    expect(table).toContain('aborted; results are partial\n');
    expect(table).toContain('5 req/s: errors 404 ×3, network ×1\n');
    expect(table).toContain('5 req/s: 7 arrivals not sent (target load not reached)\n');
    expect(table).toContain('5 req/s: 2 requests cancelled\n');
  });
});

describe('formatComparisonTable', () => {
  it('groups setups under each load level', () => {
    const table = formatComparisonTable([
      { name: 'round-robin', result: exampleResult([exampleStep(0, rate(5)), exampleStep(1, rate(10))]) },
      {
        name: 'prefix-aware',
        result: exampleResult([
          exampleStep(0, rate(5), { failed: 1, errorsByStatus: { '503': 1 } }),
          exampleStep(1, rate(10)),
        ]),
      },
    ]);
    const rows = table
      .trimEnd()
      .split('\n')
      .slice(2)
      .map((line) => line.split(/\s{2,}/).slice(0, 3));
    expect(rows).toEqual([
      ['round-robin', '5 req/s', '100'],
      ['prefix-aware', '5 req/s', '100'],
      ['round-robin', '10 req/s', '100'],
      ['prefix-aware', '10 req/s', '100'],
      ['prefix-aware: 5 req/s: errors 503 ×1'],
    ]);
    expect(table.startsWith('setup ')).toBe(true);
  });
});
