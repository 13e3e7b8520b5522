import { escapeHtml } from './escape-html.js';

export interface ChartPoint {
  x: number;
  y: number;
}

export interface ChartSeries {
  name: string;
  color: string;
  dashed?: boolean;
  points: readonly ChartPoint[];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  width?: number;
  height?: number;
  /** Formats tick labels and point tooltips of the y axis. */
  formatY?: (value: number) => string;
}

/**
 * Around `count` round tick values (steps of 1, 2 or 5 × 10^n) from the last one at or below
 * `minimum` to the first one at or above `maximum`, so an axis ending at the ticks shows every value.
 */
export function niceTicks(minimum: number, maximum: number, count = 5): number[] {
  if (!(maximum > minimum)) return [minimum];
  const rough = (maximum - minimum) / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].find((factor) => factor * magnitude >= rough) ?? 10) * magnitude;
  const first = Math.floor(minimum / step + 1e-9);
  const last = Math.ceil(maximum / step - 1e-9);
  const ticks: number[] = [];
  // Rounding keeps 3 × 0.1 from printing as 0.30000000000000004.
  for (let index = first; index <= last; index++) ticks.push(Number((index * step).toPrecision(12)));
  return ticks;
}

function defaultFormat(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return String(Math.round(value));
  if (magnitude >= 10) return String(Number(value.toFixed(1)));
  return String(Number(value.toFixed(3)));
}

/** The [low, high] a scale spans: from zero, padded, never empty. */
function domain(values: readonly number[], fromZero: boolean): [number, number] {
  if (values.length === 0) return [0, 1];
  let low = Math.min(...values);
  const high = Math.max(...values);
  if (fromZero) low = Math.min(0, low);
  if (high === low) {
    const pad = high === 0 ? 1 : Math.abs(high) * 0.1;
    return [fromZero ? low : low - pad, high + pad];
  }
  return [low, high];
}

/**
 * A self-contained SVG line chart (no scripts): one polyline with point markers per series, axes
 * with round ticks, a legend underneath. Points carry `<title>` tooltips with their values.
 */
export function renderLineChart(options: LineChartOptions): string {
  const width = options.width ?? 640;
  const legendRows = Math.ceil(options.series.length / 3);
  const height = options.height ?? 360;
  const formatY = options.formatY ?? defaultFormat;
  const margin = { top: 36, right: 24, bottom: 56 + legendRows * 20, left: 72 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const points = options.series.flatMap((series) => series.points);
  const [xLow, xHigh] = domain(
    points.map((point) => point.x),
    false,
  );
  const yTicks = niceTicks(
    ...domain(
      points.map((point) => point.y),
      true,
    ),
  );
  const yLow = yTicks[0] ?? 0;
  const yHigh = Math.max(yTicks.at(-1) ?? 1, yLow + 1e-9);
  const xTicks = niceTicks(xLow, xHigh);
  const scaleX = (x: number) => margin.left + ((x - xLow) / (xHigh - xLow)) * plotWidth;
  const scaleY = (y: number) => margin.top + plotHeight - ((y - yLow) / (yHigh - yLow)) * plotHeight;
  const coordinate = (value: number) => value.toFixed(1);

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(options.title)}" font-family="system-ui, sans-serif" font-size="12">`,
  );
  parts.push(
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="600">${escapeHtml(options.title)}</text>`,
  );
  for (const tick of yTicks) {
    const y = coordinate(scaleY(tick));
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`,
      `<text x="${margin.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#374151">${escapeHtml(formatY(tick))}</text>`,
    );
  }
  for (const tick of xTicks) {
    if (tick < xLow || tick > xHigh) continue;
    const x = coordinate(scaleX(tick));
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight + 5}" stroke="#6b7280"/>`,
      `<text x="${x}" y="${margin.top + plotHeight + 18}" text-anchor="middle" fill="#374151">${escapeHtml(defaultFormat(tick))}</text>`,
    );
  }
  parts.push(
    `<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight}" stroke="#6b7280"/>`,
    `<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotHeight}" stroke="#6b7280"/>`,
    `<text x="${margin.left + plotWidth / 2}" y="${margin.top + plotHeight + 38}" text-anchor="middle" fill="#111827">${escapeHtml(options.xLabel)}</text>`,
    `<text transform="translate(18 ${margin.top + plotHeight / 2}) rotate(-90)" text-anchor="middle" fill="#111827">${escapeHtml(options.yLabel)}</text>`,
  );
  for (const series of options.series) {
    const sorted = [...series.points].sort((left, right) => left.x - right.x);
    const path = sorted
      .map((point) => `${coordinate(scaleX(point.x))},${coordinate(scaleY(point.y))}`)
      .join(' ');
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(`<g class="series" data-series="${escapeHtml(series.name)}">`);
    if (sorted.length > 1) {
      parts.push(`<polyline points="${path}" fill="none" stroke="${series.color}" stroke-width="2"${dash}/>`);
    }
    for (const point of sorted) {
      parts.push(
        `<circle cx="${coordinate(scaleX(point.x))}" cy="${coordinate(scaleY(point.y))}" r="3.5" fill="${series.color}"><title>${escapeHtml(`${series.name}: ${defaultFormat(point.x)} → ${formatY(point.y)}`)}</title></circle>`,
      );
    }
    parts.push('</g>');
  }
  options.series.forEach((series, index) => {
    const x = margin.left + (index % 3) * (plotWidth / 3);
    const y = margin.top + plotHeight + 58 + Math.floor(index / 3) * 20;
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(
      `<line x1="${x}" x2="${x + 24}" y1="${y}" y2="${y}" stroke="${series.color}" stroke-width="2"${dash}/>`,
      `<text x="${x + 30}" y="${y}" dominant-baseline="middle" fill="#111827">${escapeHtml(series.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
