import type { BenchResult, BenchStepResult } from './bench-result.js';
import { formatTarget, type NamedBenchResult } from './named-result.js';

interface Column {
  header: string;
  /** Text columns align left, numbers right. */
  align: 'left' | 'right';
  value(row: TableRow): string;
}

interface TableRow {
  name: string;
  step: BenchStepResult;
}

/** Milliseconds: two decimals below 10, one below 1000, whole above; `-` when not measured. */
export function formatMilliseconds(value: number | null): string {
  if (value === null) return '-';
  if (value < 10) return value.toFixed(2);
  if (value < 1000) return value.toFixed(1);
  return value.toFixed(0);
}

function formatRate(value: number): string {
  return value < 100 ? value.toFixed(2) : value.toFixed(1);
}

function formatPercent(value: number | null): string {
  return value === null ? '-' : `${(value * 100).toFixed(1)}%`;
}

const stepColumns: Column[] = [
  { header: 'load', align: 'left', value: (row) => formatTarget(row.step.target) },
  { header: 'requests', align: 'right', value: (row) => String(row.step.requests) },
  { header: 'errors', align: 'right', value: (row) => String(row.step.failed) },
  {
    header: 'TTFT p50 ms',
    align: 'right',
    value: (row) => formatMilliseconds(row.step.timeToFirstTokenMilliseconds.p50),
  },
  {
    header: 'TTFT p90 ms',
    align: 'right',
    value: (row) => formatMilliseconds(row.step.timeToFirstTokenMilliseconds.p90),
  },
  {
    header: 'TTFT p99 ms',
    align: 'right',
    value: (row) => formatMilliseconds(row.step.timeToFirstTokenMilliseconds.p99),
  },
  {
    header: 'ITL p50 ms',
    align: 'right',
    value: (row) => formatMilliseconds(row.step.interTokenLatencyMilliseconds.p50),
  },
  {
    header: 'ITL p90 ms',
    align: 'right',
    value: (row) => formatMilliseconds(row.step.interTokenLatencyMilliseconds.p90),
  },
  {
    header: 'E2E p50 ms',
    align: 'right',
    value: (row) => formatMilliseconds(row.step.endToEndLatencyMilliseconds.p50),
  },
  {
    header: 'E2E p90 ms',
    align: 'right',
    value: (row) => formatMilliseconds(row.step.endToEndLatencyMilliseconds.p90),
  },
  { header: 'output tok/s', align: 'right', value: (row) => formatRate(row.step.outputTokensPerSecond) },
  { header: 'req/s', align: 'right', value: (row) => formatRate(row.step.requestsPerSecond) },
  { header: 'cache hit', align: 'right', value: (row) => formatPercent(row.step.cacheHitRate) },
];

const setupColumn: Column = { header: 'setup', align: 'left', value: (row) => row.name };

/** The summary as cells: what the text table and the HTML report both show. */
export interface SummaryCells {
  headers: string[];
  /** Per column: text aligns left, numbers right. */
  alignments: Array<'left' | 'right'>;
  rows: string[][];
}

/** Summary cells of several named results: one row per load level and setup. */
export function summaryCells(
  entries: readonly NamedBenchResult[],
  options: { withSetup: boolean },
): SummaryCells {
  const columns = options.withSetup ? [setupColumn, ...stepColumns] : stepColumns;
  return {
    headers: columns.map((column) => column.header),
    alignments: columns.map((column) => column.align),
    rows: rowsOf(entries).map((row) => columns.map((column) => column.value(row))),
  };
}

function renderTable(cells: SummaryCells): string[] {
  const widths = cells.headers.map((header, index) =>
    Math.max(header.length, ...cells.rows.map((row) => (row[index] as string).length)),
  );
  const line = (values: readonly string[]) =>
    values
      .map((value, index) =>
        cells.alignments[index] === 'right'
          ? value.padStart(widths[index] as number)
          : value.padEnd(widths[index] as number),
      )
      .join('  ')
      .trimEnd();
  return [line(cells.headers), line(widths.map((width) => '-'.repeat(width))), ...cells.rows.map(line)];
}

/** Rows ordered by step, then by setup, so each load level's setups sit next to each other. */
function rowsOf(entries: readonly NamedBenchResult[]): TableRow[] {
  const stepCount = Math.max(0, ...entries.map((entry) => entry.result.steps.length));
  const rows: TableRow[] = [];
  for (let index = 0; index < stepCount; index++) {
    for (const entry of entries) {
      const step = entry.result.steps[index];
      if (step) rows.push({ name: entry.name, step });
    }
  }
  return rows;
}

/**
 * Lines about what the table cannot show: errors by status, unsent arrivals, cancelled requests,
 * aborted runs. `named` prefixes each line with the setup's name.
 */
export function summaryNotes(entries: readonly NamedBenchResult[], named: boolean): string[] {
  const lines: string[] = [];
  for (const entry of entries) {
    const prefix = named ? `${entry.name}: ` : '';
    if (entry.result.aborted) lines.push(`${prefix}aborted; results are partial`);
    for (const step of entry.result.steps) {
      const errors = Object.entries(step.errorsByStatus).map(([status, count]) => `${status} ×${count}`);
      if (errors.length > 0) lines.push(`${prefix}${formatTarget(step.target)}: errors ${errors.join(', ')}`);
      if (step.unsentArrivals > 0) {
        lines.push(
          `${prefix}${formatTarget(step.target)}: ${step.unsentArrivals} arrivals not sent (target load not reached)`,
        );
      }
      if (step.cancelled > 0)
        lines.push(`${prefix}${formatTarget(step.target)}: ${step.cancelled} requests cancelled`);
    }
  }
  return lines;
}

/** The summary of one run as an aligned plain-text table (ends with a newline). */
export function formatBenchTable(result: BenchResult): string {
  const entries = [{ name: '', result }];
  const lines = [
    ...renderTable(summaryCells(entries, { withSetup: false })),
    ...summaryNotes(entries, false),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * Several named results side by side: one row per load level and setup, with a `setup` column
 * (ends with a newline).
 */
export function formatComparisonTable(entries: readonly NamedBenchResult[]): string {
  const lines = [...renderTable(summaryCells(entries, { withSetup: true })), ...summaryNotes(entries, true)];
  return `${lines.join('\n')}\n`;
}
