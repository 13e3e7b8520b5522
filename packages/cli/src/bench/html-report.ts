import type { BenchTarget } from './arrivals.js';
import type { BenchStepResult } from './bench-result.js';
import { escapeHtml } from './escape-html.js';
import { formatTarget, type NamedBenchResult, targetValue } from './named-result.js';
import { summaryCells, summaryNotes } from './report-table.js';
import { type ChartSeries, renderLineChart } from './svg-line-chart.js';

export interface HtmlReportOptions {
  /** Defaults to `llmd bench`. */
  title?: string;
  /** Printed under the title; defaults to now. */
  generatedAt?: Date;
  /** The best achievable hit rate per load level, drawn as a black dashed line on the hit-rate chart. */
  oracle?: {
    readonly name: string;
    readonly steps: ReadonlyArray<{ target: BenchTarget; hitRate: number | null }>;
  };
  /** Free-text lines listed under the setups (what each setup runs, scaling choices). */
  descriptions?: ReadonlyArray<string>;
}

/** Distinguishable on white, also for common colour-vision deficiencies (Okabe–Ito). */
const palette = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#D55E00', '#56B4E9', '#F0E442', '#000000'];

const styles = `
body { font-family: system-ui, sans-serif; margin: 2rem; color: #111827; }
h1 { font-size: 1.5rem; margin-bottom: 0.25rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; }
.generated { color: #6b7280; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border-bottom: 1px solid #e5e7eb; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f9fafb; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 0.8rem; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5rem; }
`;

function series(
  entries: readonly NamedBenchResult[],
  pick: (step: BenchStepResult) => number | null,
  options: { suffix?: string; dashed?: boolean } = {},
): ChartSeries[] {
  return entries.map((entry, index) => ({
    name: `${entry.name}${options.suffix ?? ''}`,
    color: palette[index % palette.length] as string,
    dashed: options.dashed ?? false,
    points: entry.result.steps.flatMap((step) => {
      const y = pick(step);
      return y === null ? [] : [{ x: targetValue(step.target), y }];
    }),
  }));
}

function oracleSeries(oracle: NonNullable<HtmlReportOptions['oracle']>): ChartSeries {
  return {
    name: oracle.name,
    color: '#000000',
    dashed: true,
    points: oracle.steps.flatMap((step) =>
      step.hitRate === null ? [] : [{ x: targetValue(step.target), y: step.hitRate * 100 }],
    ),
  };
}

function loadLabel(entries: readonly NamedBenchResult[]): string {
  const types = new Set(entries.flatMap((entry) => entry.result.steps.map((step) => step.target.type)));
  if (types.size === 1 && types.has('rate')) return 'request rate (req/s)';
  if (types.size === 1 && types.has('concurrency')) return 'concurrent requests';
  return 'load';
}

function setupsTable(entries: readonly NamedBenchResult[]): string {
  const rows = entries.map(({ name, result }) => {
    const loads = result.steps.map((step) => formatTarget(step.target)).join(', ');
    return `<tr><td>${escapeHtml(name)}</td><td>${escapeHtml(result.baseUrl)}</td><td>${escapeHtml(result.model)}</td><td><code>${escapeHtml(JSON.stringify(result.workload))}</code></td><td>${escapeHtml(loads)}</td><td>${escapeHtml(result.unit)}</td><td>${escapeHtml(result.startedAt)}</td><td class="number">${result.durationSeconds.toFixed(1)} s${result.aborted ? ' (aborted)' : ''}</td></tr>`;
  });
  return `<table><thead><tr><th>setup</th><th>target</th><th>model</th><th>workload</th><th>load steps</th><th>lengths in</th><th>started</th><th>duration</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function summaryTable(entries: readonly NamedBenchResult[]): string {
  const cells = summaryCells(entries, { withSetup: true });
  const header = cells.headers.map((text) => `<th>${escapeHtml(text)}</th>`).join('');
  const rows = cells.rows.map(
    (row) =>
      `<tr>${row
        .map(
          (text, index) =>
            `<td${cells.alignments[index] === 'right' ? ' class="number"' : ''}>${escapeHtml(text)}</td>`,
        )
        .join('')}</tr>`,
  );
  return `<table><thead><tr>${header}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/**
 * A self-contained HTML page (inline CSS and SVG, no scripts or external resources) comparing
 * setups: TTFT p50/p90, output tokens/s and prefix-cache hit rate per load level, and the summary
 * table.
 */
export function renderHtmlReport(
  entries: readonly NamedBenchResult[],
  options: HtmlReportOptions = {},
): string {
  const title = options.title ?? 'llmd bench';
  const generatedAt = (options.generatedAt ?? new Date()).toISOString();
  const xLabel = loadLabel(entries);
  const charts = [
    renderLineChart({
      title: 'Time to first token',
      xLabel,
      yLabel: 'TTFT (ms)',
      series: [
        ...series(entries, (step) => step.timeToFirstTokenMilliseconds.p50, { suffix: ' p50' }),
        ...series(entries, (step) => step.timeToFirstTokenMilliseconds.p90, { suffix: ' p90', dashed: true }),
      ],
    }),
    renderLineChart({
      title: 'Output throughput',
      xLabel,
      yLabel: 'output tokens/s',
      series: series(entries, (step) => step.outputTokensPerSecond),
    }),
    renderLineChart({
      title: 'Prefix-cache hit rate',
      xLabel,
      yLabel: 'cached / prompt tokens (%)',
      series: [
        ...series(entries, (step) => (step.cacheHitRate === null ? null : step.cacheHitRate * 100)),
        ...(options.oracle ? [oracleSeries(options.oracle)] : []),
      ],
      formatY: (value) => `${Number(value.toFixed(1))}%`,
    }),
  ];
  const notes = summaryNotes(entries, true);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${styles}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="generated">Generated ${escapeHtml(generatedAt)}</p>
<h2>Setups</h2>
${setupsTable(entries)}
${options.descriptions && options.descriptions.length > 0 ? `<ul>${options.descriptions.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>` : ''}
<h2>Charts</h2>
<div class="charts">
${charts.map((chart) => `<figure>${chart}</figure>`).join('\n')}
</div>
<h2>Summary</h2>
${summaryTable(entries)}
${notes.length > 0 ? `<h2>Notes</h2>\n<ul>${notes.map((note) => `<li>${escapeHtml(note)}</li>`).join('')}</ul>` : ''}
</body>
</html>
`;
}
