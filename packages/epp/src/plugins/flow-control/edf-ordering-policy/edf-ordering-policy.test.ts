import { describe, expect, it } from 'vitest';
import { isOrderingPolicy, type QueuedRequestView } from '../../../flowcontrol/flow-control-policies.js';
import { createTestScheduler } from '../../../testing/index.js';
import { createEdfOrderingPolicy, edfOrderingPolicyPlugin, requestDeadline } from './edf-ordering-policy.js';

const queued = (
  sequence: number,
  receivedAt: number,
  sloDeadline: number | undefined,
  /** False models `defaultRequestTTL: 0` (no TTL deadline). */
  withTtl = true,
): QueuedRequestView => ({
  requestId: `r${sequence}`,
  priority: 0,
  fairnessId: 'f',
  byteSize: 0,
  receivedAt,
  enqueuedAt: receivedAt,
  sequence,
  sloDeadline,
  ttlDeadline: withTtl ? receivedAt + 60_000 : undefined,
});

const ids = (requests: QueuedRequestView[]) => requests.map((request) => request.requestId);

describe('edf-ordering-policy', () => {
  const policy = createEdfOrderingPolicy();

  it('uses the SLO deadline when present, else arrival + TTL', () => {
    expect(requestDeadline(queued(1, 100, 350))).toBe(350);
    expect(requestDeadline(queued(2, 100, undefined))).toBe(60_100);
    expect(requestDeadline(queued(3, 100, undefined, false))).toBe(Number.POSITIVE_INFINITY);
  });

  it('dispatches the earliest deadline first', () => {
    const requests = [
      queued(1, 0, undefined), // 60 000
      queued(2, 5, 30_005),
      queued(3, 10, 510),
      queued(4, 20, undefined, false), // no deadline at all: last
    ];
    expect(ids(requests.sort(policy.compareRequests))).toEqual(['r3', 'r2', 'r1', 'r4']);
  });

  it('is FCFS between equal deadlines, including two without any deadline', () => {
    expect(ids([queued(2, 5, 100), queued(1, 0, 100)].sort(policy.compareRequests))).toEqual(['r1', 'r2']);
    const none = [queued(2, 5, undefined, false), queued(1, 0, undefined, false)];
    expect(ids(none.sort(policy.compareRequests))).toEqual(['r1', 'r2']);
    expect(
      Number.isNaN(policy.compareRequests(none[0] as QueuedRequestView, none[1] as QueuedRequestView)),
    ).toBe(false);
  });

  it('loads from YAML as an ordering policy and refuses parameters', async () => {
    const scheduler = await createTestScheduler({
      config: 'plugins:\n  - type: edf-ordering-policy\n',
      plugins: [edfOrderingPolicyPlugin],
    });
    const loaded = scheduler.plugins.all.find((plugin) => plugin.type === 'edf-ordering-policy');
    expect(loaded && isOrderingPolicy(loaded.behaviour)).toBe(true);
    await expect(
      createTestScheduler({
        config: 'plugins:\n  - type: edf-ordering-policy\n    parameters: { deadlineHeader: x-foo }\n',
        plugins: [edfOrderingPolicyPlugin],
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters/);
  });
});
