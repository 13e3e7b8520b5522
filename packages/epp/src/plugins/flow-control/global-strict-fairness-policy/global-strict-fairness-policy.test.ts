import { describe, expect, it } from 'vitest';
import {
  type FlowQueueView,
  isFairnessPolicy,
  type PriorityBandView,
  type QueuedRequestView,
} from '../../../flowcontrol/flow-control-policies.js';
import { createTestScheduler } from '../../../testing/index.js';
import { createEdfOrderingPolicy } from '../edf-ordering-policy/edf-ordering-policy.js';
import { createFcfsOrderingPolicy } from '../fcfs-ordering-policy/fcfs-ordering-policy.js';
import {
  createGlobalStrictFairnessPolicy,
  globalStrictFairnessPolicyPlugin,
} from './global-strict-fairness-policy.js';

const head = (sequence: number, receivedAt: number, sloDeadline?: number): QueuedRequestView => ({
  requestId: `r${sequence}`,
  priority: 0,
  fairnessId: 'f',
  byteSize: 0,
  receivedAt,
  enqueuedAt: receivedAt,
  sequence,
  sloDeadline,
  ttlDeadline: receivedAt + 60_000,
});

const flow = (fairnessId: string, first: QueuedRequestView | undefined): FlowQueueView => ({
  fairnessId,
  priority: 0,
  length: first ? 1 : 0,
  byteSize: 0,
  peek: () => first,
});

const band = (flows: FlowQueueView[], ordering = createFcfsOrderingPolicy()): PriorityBandView => ({
  priority: 0,
  flows: new Map(flows.map((entry) => [entry.fairnessId, entry])),
  ordering,
});

describe('global-strict-fairness-policy', () => {
  const policy = createGlobalStrictFairnessPolicy();

  it('picks the flow whose head arrived first, whatever the flow', () => {
    const view = band([flow('a', head(3, 30)), flow('b', head(1, 10)), flow('c', head(2, 20))]);
    expect(policy.pickFlow(view, policy.newBandState?.())?.fairnessId).toBe('b');
  });

  it("follows the band's ordering policy (strict EDF with edf-ordering-policy)", () => {
    const view = band(
      [flow('early-arrival', head(1, 10, 5_000)), flow('tight-slo', head(2, 20, 100))],
      createEdfOrderingPolicy(),
    );
    expect(policy.pickFlow(view, undefined)?.fairnessId).toBe('tight-slo');
  });

  it('returns nothing for an empty band and skips empty flows', () => {
    expect(policy.pickFlow(band([]), undefined)).toBeUndefined();
    expect(
      policy.pickFlow(band([flow('empty', undefined), flow('full', head(1, 5))]), undefined)?.fairnessId,
    ).toBe('full');
  });

  it('loads from YAML as a fairness policy and refuses parameters', async () => {
    const scheduler = await createTestScheduler({
      config: 'plugins:\n  - type: global-strict-fairness-policy\n',
      plugins: [globalStrictFairnessPolicyPlugin],
    });
    const loaded = scheduler.plugins.all.find((plugin) => plugin.type === 'global-strict-fairness-policy');
    expect(loaded && isFairnessPolicy(loaded.behaviour)).toBe(true);
    await expect(
      createTestScheduler({
        config: 'plugins:\n  - type: global-strict-fairness-policy\n    parameters: { strict: true }\n',
        plugins: [globalStrictFairnessPolicyPlugin],
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters/);
  });
});
