import { describe, expect, it } from 'vitest';
import {
  type FlowQueueView,
  isFairnessPolicy,
  type PriorityBandView,
} from '../../../flowcontrol/flow-control-policies.js';
import { createTestScheduler } from '../../../testing/index.js';
import { createFcfsOrderingPolicy } from '../fcfs-ordering-policy/fcfs-ordering-policy.js';
import {
  createRoundRobinFairnessPolicy,
  roundRobinFairnessPolicyPlugin,
} from './round-robin-fairness-policy.js';

/** A band whose flows hold the given number of requests; picking a flow takes one request from it. */
function simulatedBand(lengths: Record<string, number>) {
  const remaining = new Map(Object.entries(lengths));
  const flows = new Map<string, FlowQueueView>();
  const refresh = () => {
    flows.clear();
    for (const [fairnessId, length] of remaining) {
      if (length === 0) continue;
      flows.set(fairnessId, { fairnessId, priority: 0, length, byteSize: 0, peek: () => undefined });
    }
  };
  refresh();
  const view: PriorityBandView = { priority: 0, flows, ordering: createFcfsOrderingPolicy() };
  return {
    view,
    take(fairnessId: string) {
      remaining.set(fairnessId, (remaining.get(fairnessId) ?? 0) - 1);
      refresh();
    },
    add(fairnessId: string, count: number) {
      remaining.set(fairnessId, (remaining.get(fairnessId) ?? 0) + count);
      refresh();
    },
  };
}

describe('round-robin-fairness-policy', () => {
  const policy = createRoundRobinFairnessPolicy();

  const drain = (band: ReturnType<typeof simulatedBand>, state: unknown, steps: number): string[] => {
    const picked: string[] = [];
    for (let step = 0; step < steps; step++) {
      const flow = policy.pickFlow(band.view, state);
      if (!flow) break;
      picked.push(flow.fairnessId);
      band.take(flow.fairnessId);
    }
    return picked;
  };

  it('serves flows in turn in fairness-id order, one request each', () => {
    const band = simulatedBand({ c: 2, a: 3, b: 1 });
    expect(drain(band, policy.newBandState?.(), 10)).toEqual(['a', 'b', 'c', 'a', 'c', 'a']);
  });

  it('lets a flow that emptied rejoin in its sorted place', () => {
    const band = simulatedBand({ a: 1, b: 1, d: 2 });
    const state = policy.newBandState?.();
    expect(drain(band, state, 2)).toEqual(['a', 'b']);
    band.add('a', 1);
    band.add('c', 1);
    // Continues after b: c, d, then wraps to a.
    expect(drain(band, state, 10)).toEqual(['c', 'd', 'a', 'd']);
  });

  it('keeps a separate cursor per band', () => {
    const first = simulatedBand({ a: 2, b: 2 });
    const second = simulatedBand({ a: 2, b: 2 });
    const firstState = policy.newBandState?.();
    const secondState = policy.newBandState?.();
    expect(drain(first, firstState, 1)).toEqual(['a']);
    expect(drain(second, secondState, 1)).toEqual(['a']);
    expect(drain(first, firstState, 1)).toEqual(['b']);
  });

  it('returns nothing for an empty band', () => {
    expect(policy.pickFlow(simulatedBand({}).view, policy.newBandState?.())).toBeUndefined();
  });

  it('loads from YAML as a fairness policy and refuses parameters', async () => {
    const scheduler = await createTestScheduler({
      config: 'plugins:\n  - type: round-robin-fairness-policy\n',
      plugins: [roundRobinFairnessPolicyPlugin],
    });
    const loaded = scheduler.plugins.all.find((plugin) => plugin.type === 'round-robin-fairness-policy');
    expect(loaded && isFairnessPolicy(loaded.behaviour)).toBe(true);
    await expect(
      createTestScheduler({
        config: 'plugins:\n  - type: round-robin-fairness-policy\n    parameters: { quantum: 2 }\n',
        plugins: [roundRobinFairnessPolicyPlugin],
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters/);
  });
});
