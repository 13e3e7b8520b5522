import { describe, expect, it } from 'vitest';
import { createEdfOrderingPolicy } from '../plugins/flow-control/edf-ordering-policy/edf-ordering-policy.js';
import { createRoundRobinFairnessPolicy } from '../plugins/flow-control/round-robin-fairness-policy/round-robin-fairness-policy.js';
import type { UsageLimitPolicy } from './flow-control-policies.js';
import {
  FlowController,
  type FlowControllerOptions,
  type FlowDecision,
  type FlowRequest,
} from './flow-controller.js';
import { ManualClock } from './manual-clock.js';

/** A controller on a manual clock whose saturation and pool size the test sets. */
function setup(options: Partial<FlowControllerOptions> = {}) {
  const clock = new ManualClock(10_000);
  const state = { saturation: 0, hasEndpoints: true };
  const controller = new FlowController({
    saturation: () => state.saturation,
    hasEndpoints: () => state.hasEndpoints,
    now: clock.now,
    timers: clock.timers,
    ...options,
  });
  const outcomes = new Map<string, FlowDecision>();
  /** Request ids in the order their decisions were made. */
  const order: string[] = [];
  let counter = 0;
  const enqueue = (init: Partial<FlowRequest> = {}): Promise<FlowDecision> => {
    counter += 1;
    const request: FlowRequest = {
      requestId: `r${counter}`,
      priority: 0,
      fairnessId: 'default-flow',
      byteSize: 100,
      receivedAt: clock.now(),
      ...init,
    };
    const decided = controller.enqueue(request);
    void decided.then((decision) => {
      outcomes.set(request.requestId, decision);
      order.push(request.requestId);
    });
    return decided;
  };
  return { clock, state, controller, outcomes, order, enqueue };
}

/** Lets settled decisions reach their `.then` callbacks. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('FlowController', () => {
  it('dispatches at once while the pool is not saturated', async () => {
    const { controller, enqueue } = setup();
    await expect(enqueue()).resolves.toEqual({ dispatched: true, queuedMilliseconds: 0 });
    expect(controller.stats()).toEqual({ queuedRequests: 0, queuedBytes: 0, bands: [] });
  });

  it('dispatches the highest priority band first, negative priorities last', async () => {
    const { state, controller, order, enqueue } = setup();
    state.saturation = 1;
    enqueue({ requestId: 'p0', priority: 0 });
    enqueue({ requestId: 'p-1', priority: -1 });
    enqueue({ requestId: 'p10', priority: 10 });
    enqueue({ requestId: 'p5', priority: 5 });
    await flush();
    expect(order).toEqual([]);
    expect(controller.stats().bands.map((band) => band.priority)).toEqual([10, 5, 0, -1]);
    state.saturation = 0;
    controller.notify();
    await flush();
    expect(order).toEqual(['p10', 'p5', 'p0', 'p-1']);
  });

  it('orders a flow first come, first served by arrival time', async () => {
    const { clock, state, controller, order, enqueue } = setup();
    state.saturation = 1;
    const start = clock.now();
    enqueue({ requestId: 'second', receivedAt: start + 2 });
    enqueue({ requestId: 'third', receivedAt: start + 3 });
    // Arrived first but reached the queue last (e.g. a slower body parse): still served first.
    enqueue({ requestId: 'first', receivedAt: start + 1 });
    enqueue({ requestId: 'fourth', receivedAt: start + 3 });
    state.saturation = 0;
    controller.notify();
    await flush();
    expect(order).toEqual(['first', 'second', 'third', 'fourth']);
  });

  it('serves a band strictly by arrival across flows by default (global strict fairness)', async () => {
    const { clock, state, controller, order, enqueue } = setup();
    state.saturation = 1;
    enqueue({ requestId: 'a1', fairnessId: 'a' });
    enqueue({ requestId: 'a2', fairnessId: 'a' });
    clock.advance(1);
    enqueue({ requestId: 'b1', fairnessId: 'b' });
    clock.advance(1);
    enqueue({ requestId: 'a3', fairnessId: 'a' });
    state.saturation = 0;
    controller.notify();
    await flush();
    expect(order).toEqual(['a1', 'a2', 'b1', 'a3']);
  });

  it('rotates across fairness ids with round-robin fairness', async () => {
    const { state, controller, order, enqueue } = setup({
      bandTemplate: { fairness: createRoundRobinFairnessPolicy() },
    });
    state.saturation = 1;
    for (const id of ['a1', 'a2', 'a3']) enqueue({ requestId: id, fairnessId: 'tenant-a' });
    enqueue({ requestId: 'b1', fairnessId: 'tenant-b' });
    for (const id of ['c1', 'c2']) enqueue({ requestId: id, fairnessId: 'tenant-c' });
    expect(controller.stats().bands).toEqual([
      { priority: 0, queuedRequests: 6, queuedBytes: 600, flows: 3 },
    ]);
    state.saturation = 0;
    controller.notify();
    await flush();
    expect(order).toEqual(['a1', 'b1', 'c1', 'a2', 'c2', 'a3']);
  });

  it('keeps fairness within a priority: round-robin does not mix bands', async () => {
    const { state, controller, order, enqueue } = setup({
      bandTemplate: { fairness: createRoundRobinFairnessPolicy() },
    });
    state.saturation = 1;
    enqueue({ requestId: 'low-a', fairnessId: 'a', priority: 0 });
    enqueue({ requestId: 'high-b1', fairnessId: 'b', priority: 1 });
    enqueue({ requestId: 'high-b2', fairnessId: 'b', priority: 1 });
    state.saturation = 0;
    controller.notify();
    await flush();
    expect(order).toEqual(['high-b1', 'high-b2', 'low-a']);
  });

  it('stops dispatching at the ceiling and blocks lower bands behind a gated higher one', async () => {
    // Priority 10 may only dispatch below 0.5 saturation; everything else up to 1.0.
    const usageLimit: UsageLimitPolicy = { ceiling: (_saturation, priority) => (priority >= 10 ? 0.5 : 1) };
    const { state, controller, order, enqueue } = setup({ usageLimit });
    state.saturation = 0.7;
    enqueue({ requestId: 'high', priority: 10 });
    enqueue({ requestId: 'low', priority: 0 });
    controller.notify();
    await flush();
    // `low` could dispatch at 0.7 < 1.0, but overtaking the blocked `high` would invert priorities.
    expect(order).toEqual([]);

    state.saturation = 0.4;
    controller.notify();
    await flush();
    expect(order).toEqual(['high', 'low']);

    // With the higher band empty, its ceiling no longer holds the lower band back.
    state.saturation = 0.7;
    await enqueue({ requestId: 'low-again', priority: 0 });
    expect(order).toEqual(['high', 'low', 'low-again']);
  });

  it('treats saturation equal to the ceiling as saturated', async () => {
    const { state, controller, order, enqueue } = setup();
    state.saturation = 1;
    enqueue({ requestId: 'waiting' });
    controller.notify();
    await flush();
    expect(order).toEqual([]);
    state.saturation = 0.999;
    controller.notify();
    await flush();
    expect(order).toEqual(['waiting']);
  });

  it('rejects with 429 rejected-saturated when a band is full', async () => {
    const { state, controller, enqueue } = setup({
      bands: [{ priority: 0, maxRequests: 2, maxBytes: 1000 }],
    });
    state.saturation = 1;
    enqueue();
    enqueue();
    await expect(enqueue()).resolves.toMatchObject({
      dispatched: false,
      status: 429,
      dropReason: 'rejected-saturated',
    });
    // Another priority has its own band and capacity.
    enqueue({ priority: 1 });
    expect(controller.stats().queuedRequests).toBe(3);
  });

  it('rejects by bytes per band and by the global caps', async () => {
    const { state, enqueue } = setup({ bands: [{ priority: 0, maxBytes: 250 }], maxRequests: 3 });
    state.saturation = 1;
    enqueue({ byteSize: 200 });
    await expect(enqueue({ byteSize: 100 })).resolves.toMatchObject({
      status: 429,
      dropReason: 'rejected-saturated',
    });
    enqueue({ priority: 1 });
    enqueue({ priority: 2 });
    const overGlobal = await enqueue({ priority: 3 });
    expect(overGlobal).toMatchObject({ status: 429, dropReason: 'rejected-saturated' });
    expect((overGlobal as { message: string }).message).toContain('maxRequests 3');
  });

  it('uses llm-d defaults for zero capacities: 5000 requests per band, no global limit', async () => {
    const { state, controller, enqueue } = setup({
      bands: [{ priority: 0, maxRequests: 0 }],
      maxRequests: 0,
    });
    state.saturation = 1;
    for (let index = 0; index < 5000; index++) void enqueue({ byteSize: 1 });
    await expect(enqueue({ byteSize: 1 })).resolves.toMatchObject({
      status: 429,
      dropReason: 'rejected-saturated',
    });
    expect(controller.stats().queuedRequests).toBe(5000);
    controller.close();
  });

  it('expires queued requests with 429 rejected-ttl-expired while the pool has endpoints', async () => {
    const { clock, state, controller, outcomes, enqueue } = setup({ defaultRequestTTLMilliseconds: 1000 });
    state.saturation = 1;
    enqueue({ requestId: 'old' });
    clock.advance(500);
    enqueue({ requestId: 'young' });
    clock.advance(499);
    await flush();
    expect(outcomes.size).toBe(0);
    clock.advance(20);
    await flush();
    expect(outcomes.get('old')).toMatchObject({
      dispatched: false,
      status: 429,
      dropReason: 'rejected-ttl-expired',
    });
    expect(outcomes.has('young')).toBe(false);
    expect(controller.stats().queuedRequests).toBe(1);
  });

  it('expires with 503 rejected-no-endpoints after noEndpointRequestTTL while the pool is empty', async () => {
    const { clock, state, outcomes, enqueue } = setup({
      defaultRequestTTLMilliseconds: 1000,
      noEndpointRequestTTLMilliseconds: 5000,
    });
    state.hasEndpoints = false;
    enqueue({ requestId: 'cold' });
    clock.advance(4990);
    await flush();
    expect(outcomes.size).toBe(0);
    clock.advance(20);
    await flush();
    expect(outcomes.get('cold')).toMatchObject({
      dispatched: false,
      status: 503,
      dropReason: 'rejected-no-endpoints',
    });
  });

  it('holds requests while the pool is empty and dispatches them when endpoints appear (scale from zero)', async () => {
    const { clock, state, outcomes, order, enqueue } = setup({
      defaultRequestTTLMilliseconds: 1000,
      noEndpointRequestTTLMilliseconds: 60_000,
    });
    state.hasEndpoints = false;
    enqueue({ requestId: 'first' });
    enqueue({ requestId: 'second' });
    clock.advance(30_000);
    await flush();
    expect(order).toEqual([]);
    // The pool comes up saturated at first: the requests now get the endpoint budget, counted
    // from the moment endpoints appeared rather than from enqueue (30 s ago).
    state.hasEndpoints = true;
    state.saturation = 1;
    clock.advance(500);
    await flush();
    expect(order).toEqual([]);
    state.saturation = 0;
    clock.advance(20);
    await flush();
    expect(order).toEqual(['first', 'second']);
    expect(outcomes.get('first')).toEqual({ dispatched: true, queuedMilliseconds: 30_510 });
  });

  it('never expires with defaultRequestTTL 0', async () => {
    const { clock, state, controller, enqueue } = setup({
      defaultRequestTTLMilliseconds: 0,
      cycleIntervalMilliseconds: 1000,
    });
    state.saturation = 1;
    enqueue();
    clock.advance(3_600_000);
    await flush();
    expect(controller.stats().queuedRequests).toBe(1);
    controller.close();
  });

  it('rejects with 503 rejected-context-cancelled when the client goes away while queued', async () => {
    const { state, controller, enqueue } = setup();
    state.saturation = 1;
    const abort = new AbortController();
    const decided = enqueue({ signal: abort.signal });
    enqueue();
    abort.abort();
    await expect(decided).resolves.toMatchObject({
      dispatched: false,
      status: 503,
      dropReason: 'rejected-context-cancelled',
    });
    expect(controller.stats()).toMatchObject({ queuedRequests: 1, queuedBytes: 100 });
    const alreadyGone = new AbortController();
    alreadyGone.abort();
    await expect(enqueue({ signal: alreadyGone.signal })).resolves.toMatchObject({
      dropReason: 'rejected-context-cancelled',
    });
  });

  it('rejects pending and later requests with 503 rejected-shutting-down on close', async () => {
    const { clock, state, controller, enqueue } = setup();
    state.saturation = 1;
    const pending = [enqueue({ priority: 1 }), enqueue({ priority: -3 })];
    expect(clock.pendingTimers).toBe(1);
    controller.close();
    for (const decided of pending) {
      await expect(decided).resolves.toMatchObject({
        dispatched: false,
        status: 503,
        dropReason: 'rejected-shutting-down',
      });
    }
    await expect(enqueue()).resolves.toMatchObject({ status: 503, dropReason: 'rejected-shutting-down' });
    expect(controller.stats().queuedRequests).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    expect(controller.closed).toBe(true);
  });

  it('orders by earliest deadline with EDF: SLO deadline if given, else arrival + TTL', async () => {
    const { clock, state, controller, order, enqueue } = setup({
      bandTemplate: { ordering: createEdfOrderingPolicy() },
      defaultRequestTTLMilliseconds: 60_000,
    });
    state.saturation = 1;
    const start = clock.now();
    enqueue({ requestId: 'no-slo', receivedAt: start }); // deadline start + 60 s
    enqueue({ requestId: 'loose-slo', receivedAt: start + 1, sloDeadline: start + 1 + 30_000 });
    enqueue({ requestId: 'tight-slo', receivedAt: start + 2, sloDeadline: start + 2 + 500 });
    enqueue({ requestId: 'no-slo-later', receivedAt: start + 3, fairnessId: 'other' });
    state.saturation = 0;
    controller.notify();
    await flush();
    expect(order).toEqual(['tight-slo', 'loose-slo', 'no-slo', 'no-slo-later']);
  });

  it('bounds the dispatches of one cycle', async () => {
    const { clock, state, controller, order, enqueue } = setup({ maxDispatchesPerCycle: 2 });
    state.saturation = 1;
    for (let index = 0; index < 5; index++) enqueue();
    state.saturation = 0;
    controller.notify();
    await flush();
    expect(order).toHaveLength(2);
    clock.advance(10); // the safety-net cycle
    await flush();
    expect(order).toHaveLength(4);
    controller.notify();
    await flush();
    expect(order).toHaveLength(5);
  });

  it('counts unobserved in-flight dispatches against the bound when the caller reports them', async () => {
    const inFlight = { count: 0 };
    const { clock, state, controller, order, enqueue } = setup({
      maxDispatchesPerCycle: 3,
      dispatchedInFlight: () => inFlight.count,
    });
    state.saturation = 1;
    for (let index = 0; index < 5; index++) enqueue();
    state.saturation = 0;
    inFlight.count = 2;
    controller.notify();
    await flush();
    expect(order).toHaveLength(1);
    inFlight.count = 3;
    clock.advance(50);
    await flush();
    expect(order).toHaveLength(1);
    inFlight.count = 0; // the saturation signal caught up
    controller.notify();
    await flush();
    expect(order).toHaveLength(4);
  });

  it('dispatches on its timer when saturation drops without a notification, and stops the timer when idle', async () => {
    const { clock, state, order, enqueue } = setup({ cycleIntervalMilliseconds: 25 });
    state.saturation = 1;
    enqueue({ requestId: 'waiting' });
    expect(clock.pendingTimers).toBe(1);
    state.saturation = 0.2;
    clock.advance(24);
    await flush();
    expect(order).toEqual([]);
    clock.advance(1);
    await flush();
    expect(order).toEqual(['waiting']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('reports queue size and bytes per band, keeping configured bands and dropping emptied template bands', async () => {
    const { state, controller, enqueue } = setup({ bands: [{ priority: 5 }] });
    state.saturation = 1;
    enqueue({ priority: 5, byteSize: 10, fairnessId: 'a' });
    enqueue({ priority: 5, byteSize: 20, fairnessId: 'b' });
    enqueue({ priority: 2, byteSize: 7 });
    expect(controller.stats()).toEqual({
      queuedRequests: 3,
      queuedBytes: 37,
      bands: [
        { priority: 5, queuedRequests: 2, queuedBytes: 30, flows: 2 },
        { priority: 2, queuedRequests: 1, queuedBytes: 7, flows: 1 },
      ],
    });
    state.saturation = 0;
    controller.notify();
    await flush();
    expect(controller.stats()).toEqual({
      queuedRequests: 0,
      queuedBytes: 0,
      bands: [{ priority: 5, queuedRequests: 0, queuedBytes: 0, flows: 0 }],
    });
  });

  it('keeps expiring requests when the saturation signal throws', async () => {
    const { clock, outcomes, enqueue } = setup({
      saturation: () => {
        throw new Error('detector broke');
      },
      defaultRequestTTLMilliseconds: 100,
    });
    enqueue({ requestId: 'stuck' });
    clock.advance(110);
    await flush();
    expect(outcomes.get('stuck')).toMatchObject({ dropReason: 'rejected-ttl-expired' });
  });

  it('does not dispatch when the fairness policy declines, and does not let lower bands overtake', async () => {
    const { state, controller, order, enqueue } = setup({
      bands: [{ priority: 1, fairness: { pickFlow: () => undefined } }],
    });
    state.saturation = 1;
    enqueue({ requestId: 'held', priority: 1 });
    enqueue({ requestId: 'lower', priority: 0 });
    state.saturation = 0;
    controller.notify();
    await flush();
    expect(order).toEqual([]);
    controller.close();
  });

  it('refuses a priority band configured twice', () => {
    expect(
      () =>
        new FlowController({
          saturation: () => 0,
          hasEndpoints: () => true,
          bands: [{ priority: 1 }, { priority: 1 }],
        }),
    ).toThrow(/configured twice/);
  });
});
