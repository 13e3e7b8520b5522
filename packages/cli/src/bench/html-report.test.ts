import { describe, expect, it } from 'vitest';
import { renderHtmlReport } from './html-report.js';
import { exampleResult, exampleStep } from './testing-results.js';

const rate = (value: number) => ({ type: 'rate', rate: value }) as const;

describe('renderHtmlReport', () => {
  const entries = [
    {
      name: 'round-robin',
      result: exampleResult([exampleStep(0, rate(5)), exampleStep(1, rate(10), { cacheHitRate: 0.1 })]),
    },
    {
      name: '<precise>',
      result: exampleResult([
        exampleStep(0, rate(5), { outputTokensPerSecond: 1500 }),
        exampleStep(1, rate(10), { failed: 2, errorsByStatus: { '429': 2 } }),
      ]),
    },
  ];

  it('is a self-contained page with TTFT, throughput and cache-hit charts per setup', () => {
    const html = renderHtmlReport(entries, { title: 'Routing comparison', generatedAt: new Date(0) });
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<title>Routing comparison</title>');
    expect(html).toContain('1970-01-01T00:00:00.000Z');
    expect(html).not.toMatch(/<script|<link|src=|@import/);
    // Only the SVG namespace names a URL besides the setups' own targets.
    expect(html.match(/https?:\/\/[^"<\s]+/g)?.filter((url) => !url.startsWith('http://127.0.0.1'))).toEqual([
      'http://www.w3.org/2000/svg',
      'http://www.w3.org/2000/svg',
      'http://www.w3.org/2000/svg',
    ]);
    for (const title of ['Time to first token', 'Output throughput', 'Prefix-cache hit rate'])
      expect(html).toContain(title);
    // TTFT: p50 and p90 per setup; throughput and cache hit: one line per setup.
    expect(html.match(/<polyline /g)).toHaveLength(4 + 2 + 2);
    expect(html.match(/stroke-dasharray/g)?.length).toBeGreaterThanOrEqual(2);
    expect(html).toContain('data-series="round-robin p90"');
    expect(html).toContain('&lt;precise&gt; p50');
    expect(html).not.toContain('<precise>');
    expect(html).toContain('request rate (req/s)');
    expect(html).toContain('&lt;precise&gt;: 10 req/s: errors 429 ×2');
    expect(html).toMatch(/<td class="number">1500\.0<\/td>/);
  });
});
