import { describe, expect, it } from 'vitest';
import { isOrderingPolicy, type QueuedRequestView } from '../../../flowcontrol/flow-control-policies.js';
import { createTestScheduler } from '../../../testing/index.js';
import { createFcfsOrderingPolicy, fcfsOrderingPolicyPlugin } from './fcfs-ordering-policy.js';

const queued = (sequence: number, receivedAt: number): QueuedRequestView => ({
  requestId: `r${sequence}`,
  priority: 0,
  fairnessId: 'f',
  byteSize: 0,
  receivedAt,
  enqueuedAt: receivedAt,
  sequence,
  sloDeadline: undefined,
  ttlDeadline: receivedAt + 60_000,
});

describe('fcfs-ordering-policy', () => {
  const policy = createFcfsOrderingPolicy();

  it('orders by arrival time', () => {
    const requests = [queued(1, 30), queued(2, 10), queued(3, 20)];
    expect(requests.sort(policy.compareRequests).map((request) => request.requestId)).toEqual([
      'r2',
      'r3',
      'r1',
    ]);
  });

  it('breaks equal arrival times by enqueue order, ignoring deadlines', () => {
    const early = { ...queued(1, 10), sloDeadline: 1_000 };
    const urgent = { ...queued(2, 10), sloDeadline: 20 };
    expect(policy.compareRequests(early, urgent)).toBeLessThan(0);
    expect(policy.compareRequests(urgent, early)).toBeGreaterThan(0);
    expect(policy.compareRequests(early, early)).toBe(0);
  });

  it('loads from YAML as an ordering policy and refuses parameters', async () => {
    const scheduler = await createTestScheduler({
      config: 'plugins:\n  - type: fcfs-ordering-policy\n',
      plugins: [fcfsOrderingPolicyPlugin],
    });
    const loaded = scheduler.plugins.all.find((plugin) => plugin.type === 'fcfs-ordering-policy');
    expect(loaded && isOrderingPolicy(loaded.behaviour)).toBe(true);
    await expect(
      createTestScheduler({
        config: 'plugins:\n  - type: fcfs-ordering-policy\n    parameters: { order: lifo }\n',
        plugins: [fcfsOrderingPolicyPlugin],
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters/);
  });
});
