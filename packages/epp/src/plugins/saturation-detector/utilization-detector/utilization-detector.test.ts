import { describe, expect, it } from 'vitest';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import {
  createTestEndpointState,
  createTestScheduler,
  createTestSchedulingEndpoint,
} from '../../../testing/index.js';
import { utilizationDetectorParameters, utilizationDetectorPlugin } from './utilization-detector.js';

const now = 1_000_000;
const handle = { now: () => now } as never;
const detector = (parameters: Record<string, unknown> = {}) =>
  utilizationDetectorPlugin.create(utilizationDetectorParameters.parse(parameters), handle);
const fresh = (metrics: Record<string, number>) =>
  createTestEndpointState({ metrics: { ...metrics, updateTime: now - 10 } });

describe('utilization-detector', () => {
  it('averages max(queue / 5, kv / 0.8) over the pool', () => {
    const saturation = detector().saturation?.([
      fresh({ waitingQueueSize: 10, kvCacheUsagePercent: 0.4 }), // max(2, 0.5) = 2
      fresh({ waitingQueueSize: 0, kvCacheUsagePercent: 0.4 }), // max(0, 0.5) = 0.5
    ]);
    expect(saturation).toBeCloseTo(1.25);
  });

  it('counts stale or never-scraped metrics as saturated, and an empty pool as saturated', () => {
    const stale = createTestEndpointState({ metrics: { updateTime: now - 500 } });
    const never = createTestEndpointState({ metrics: { updateTime: 0 } });
    expect(detector().saturation?.([stale, never])).toBe(1);
    expect(detector({ metricsStalenessThreshold: '1s' }).saturation?.([stale])).toBe(0);
    expect(detector().saturation?.([])).toBe(1);
  });

  it('filters saturated endpoints but fails open when all are saturated', () => {
    const idle = { ...createTestSchedulingEndpoint({ metrics: { updateTime: now - 10 } }) };
    const busy = {
      ...createTestSchedulingEndpoint({ metrics: { waitingQueueSize: 7, updateTime: now - 10 } }),
    }; // 1.4
    const request = createSchedulingRequest();
    expect(detector().filter?.(request, [idle, busy])).toEqual([idle]);
    expect(detector().filter?.(request, [busy])).toEqual([busy]);
    // headroom 1 tolerates up to twice the thresholds.
    expect(detector({ headroom: 1 }).filter?.(request, [idle, busy])).toEqual([idle, busy]);
  });

  it('is injected by default and names an invalid parameter', async () => {
    const scheduler = await createTestScheduler({ config: 'plugins: [{ type: queue-scorer }]' });
    expect(scheduler.plugins.saturationDetector.plugin.type).toBe('utilization-detector');
    await expect(
      createTestScheduler({
        config: 'plugins: [{ type: utilization-detector, parameters: { kvCacheUtilThreshold: 2 } }]',
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters\.kvCacheUtilThreshold/);
  });
});
