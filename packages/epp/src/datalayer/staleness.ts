/**
 * Whether an endpoint's metrics are too old to trust. The collector keeps the last metrics when a
 * scrape fails, so consumers judge freshness by `updateTime` (llm-d: 200 ms in the utilization
 * detector, 2 s for pool gauges).
 */
import type { EndpointMetrics } from '../plugin/endpoint-state.js';

/** True when never scraped, or when the last successful scrape is more than `thresholdMilliseconds` ago. */
export function isStale(metrics: EndpointMetrics, thresholdMilliseconds: number, now: number): boolean {
  return metrics.updateTime === 0 || now - metrics.updateTime > thresholdMilliseconds;
}
