import { describe, expect, it } from 'vitest';
import { niceTicks, renderLineChart } from './svg-line-chart.js';

describe('niceTicks', () => {
  it('picks round steps covering the range', () => {
    expect(niceTicks(0, 100)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(3, 60)).toEqual([0, 20, 40, 60]);
    expect(niceTicks(3, 60, 10)).toEqual([0, 10, 20, 30, 40, 50, 60]);
    expect(niceTicks(0, 89.7)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 0.3)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(niceTicks(5, 5)).toEqual([5]);
  });
});

describe('renderLineChart', () => {
  it('draws a polyline and a marker per point, dashed where asked, with escaped names', () => {
    const svg = renderLineChart({
      title: 'T',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: 'a<b>',
          color: '#000',
          points: [
            { x: 2, y: 1 },
            { x: 1, y: 3 },
          ],
        },
        { name: 'single', color: '#111', dashed: true, points: [{ x: 1, y: 2 }] },
      ],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(1);
    expect(svg.match(/<circle /g)).toHaveLength(3);
    expect(svg).toContain('a&lt;b&gt;');
    expect(svg).not.toContain('a<b>');
    expect(svg).toContain('stroke-dasharray="6 4"');
  });

  it('keeps every point inside the plot area', () => {
    const svg = renderLineChart({
      title: 'T',
      xLabel: 'x',
      yLabel: 'y',
      height: 360,
      series: [
        {
          name: 's',
          color: '#000',
          points: [
            { x: 5, y: 9.5 },
            { x: 20, y: 45.2 },
            { x: 60, y: 89.7 },
          ],
        },
      ],
    });
    const heights = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((match) =>
      Number(match[2]),
    );
    expect(heights).toHaveLength(3);
    const top = Math.min(
      ...[...svg.matchAll(/<line x1="72" x2="\d+" y1="([\d.]+)"/g)].map((match) => Number(match[1])),
    );
    for (const height of heights) expect(height).toBeGreaterThanOrEqual(top);
  });

  it('draws an empty chart without failing', () => {
    const svg = renderLineChart({ title: 'Empty', xLabel: 'x', yLabel: 'y', series: [] });
    expect(svg).toContain('Empty');
    expect(svg).not.toContain('NaN');
  });
});
