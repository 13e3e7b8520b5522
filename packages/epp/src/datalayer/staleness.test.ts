/**
 * Staleness judged by updateTime.
 */
import { describe, expect, it } from 'vitest';
import { emptyEndpointMetrics } from '../plugin/endpoint-state.js';
import { isStale } from './staleness.js';

describe('isStale', () => {
  it('treats never-scraped metrics as stale', () => {
    expect(isStale(emptyEndpointMetrics, 200, 1_000)).toBe(true);
  });

  it('compares the age of the last successful scrape with the threshold', () => {
    const metrics = { ...emptyEndpointMetrics, updateTime: 10_000 };
    expect(isStale(metrics, 200, 10_200)).toBe(false);
    expect(isStale(metrics, 200, 10_201)).toBe(true);
    expect(isStale(metrics, 2_000, 11_000)).toBe(false);
  });
});
