import { describe, expect, it } from 'vitest';
import { decodeEndpointPickerConfig } from '../config/load-endpoint-picker-config.js';
import type { LoadedPlugin } from '../plugin/define-plugin.js';
import type { EndpointState } from '../plugin/endpoint-state.js';
import { flowControlPlugins } from '../plugins/flow-control-plugins.js';
import { createSchedulingRequest } from '../scheduling/create-scheduling-request.js';
import type { Scheduler } from '../scheduling/scheduler.js';
import { createTestEndpointState, createTestScheduler } from '../testing/index.js';
import { createFlowController } from './create-flow-controller.js';
import type { FlowDecision } from './flow-controller.js';
import { ManualClock } from './manual-clock.js';

const yaml = `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
featureGates: [flowControl]
plugins:
  - type: round-robin-fairness-policy
  - type: edf-ordering-policy
  - name: strict-limit
    type: static-usage-limit-policy
    parameters:
      threshold: 0.8
  - type: concurrency-detector
    parameters:
      maxConcurrency: 2
flowControl:
  maxRequests: 100
  defaultRequestTTL: 30s
  noEndpointRequestTTL: 2m
  usageLimitPolicyPluginRef: strict-limit
  saturationDetector:
    pluginRef: concurrency-detector
  defaultPriorityBand:
    maxRequests: 50
  priorityBands:
    - priority: 10
      fairnessPolicyRef: round-robin-fairness-policy
      orderingPolicyRef: edf-ordering-policy
      maxRequests: 3
    - priority: 0
      maxBytes: 1Mi
`;

async function load(text: string, endpoints: ReadonlyArray<EndpointState> = []) {
  const scheduler = await createTestScheduler({
    config: text,
    plugins: flowControlPlugins,
    endpoints: () => endpoints,
    random: () => 0,
  });
  const pluginsByName = new Map<string, LoadedPlugin>(
    scheduler.plugins.all.map((plugin) => [plugin.name, plugin]),
  );
  const config = decodeEndpointPickerConfig({ text }).flowControl;
  return { scheduler, pluginsByName, config };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('createFlowController', () => {
  it('loads a flowControl config through createTestScheduler and gates on the configured detector and limit', async () => {
    const endpoints = [createTestEndpointState(), createTestEndpointState()];
    const { scheduler, pluginsByName, config } = await load(yaml, endpoints);
    expect(scheduler.plugins.saturationDetector.plugin.type).toBe('concurrency-detector');
    const clock = new ManualClock(1_000);
    const controller = createFlowController({
      config,
      pluginsByName,
      saturation: () => scheduler.saturation(endpoints),
      hasEndpoints: () => endpoints.length > 0,
      now: clock.now,
      timers: clock.timers,
    });
    const requests = new Map<string, ReturnType<typeof createSchedulingRequest>>();
    /** Like the pipeline: queue, then schedule and run pre-request hooks once dispatched. */
    const admit = async (requestId: string): Promise<FlowDecision> => {
      const request = createSchedulingRequest({ requestId, receivedAt: clock.now(), bodyBytes: 100 });
      requests.set(requestId, request);
      const decision = await controller.enqueue({ ...request, byteSize: request.bodyBytes });
      if (decision.dispatched) await route(scheduler, request, endpoints);
      return decision;
    };
    const complete = (requestId: string) => {
      scheduler.requestComplete(requests.get(requestId) as ReturnType<typeof createSchedulingRequest>, {
        cause: 'completed',
        servedEndpoint: undefined,
        status: 200,
      });
      controller.notify();
    };

    // Capacity 2 endpoints × 2 = 4 in flight; the 0.8 ceiling admits while in-flight/4 < 0.8.
    for (const id of ['r1', 'r2', 'r3', 'r4'])
      await expect(admit(id)).resolves.toMatchObject({ dispatched: true });
    expect(scheduler.saturation(endpoints)).toBe(1);
    const fifth = admit('r5');
    await flush();
    expect(controller.stats().queuedRequests).toBe(1);

    complete('r1'); // 3 in flight: 0.75 < 0.8
    await expect(fifth).resolves.toMatchObject({ dispatched: true });
    expect(scheduler.saturation(endpoints)).toBe(1);

    // Configured bands are reported even when empty, highest first.
    expect(controller.stats().bands.map((band) => band.priority)).toEqual([10, 0]);
    controller.close();
  });

  it('applies per-band policies and capacity, and the configured TTL', async () => {
    const { pluginsByName, config } = await load(yaml);
    const clock = new ManualClock(1_000);
    const state = { saturation: 1 };
    const controller = createFlowController({
      config,
      pluginsByName,
      saturation: () => state.saturation,
      hasEndpoints: () => true,
      now: clock.now,
      timers: clock.timers,
    });
    const order: string[] = [];
    const enqueue = (requestId: string, fairnessId: string, sloMilliseconds?: number) => {
      const decided = controller.enqueue({
        requestId,
        priority: 10,
        fairnessId,
        byteSize: 10,
        receivedAt: clock.now(),
        ...(sloMilliseconds === undefined ? {} : { sloDeadline: clock.now() + sloMilliseconds }),
      });
      void decided.then((decision) => decision.dispatched && order.push(requestId));
      return decided;
    };
    enqueue('a-late', 'a', 5_000);
    enqueue('a-early', 'a', 100);
    enqueue('b', 'b');
    // Band 10 holds 3 requests at most.
    await expect(enqueue('over', 'c')).resolves.toMatchObject({
      status: 429,
      dropReason: 'rejected-saturated',
    });
    state.saturation = 0.5;
    controller.notify();
    await flush();
    // Round robin across a and b; EDF inside a.
    expect(order).toEqual(['a-early', 'b', 'a-late']);

    state.saturation = 1;
    const expiring = enqueue('slow', 'a');
    clock.advance(29_990);
    await flush();
    expect(controller.stats().queuedRequests).toBe(1);
    clock.advance(20);
    await expect(expiring).resolves.toMatchObject({ status: 429, dropReason: 'rejected-ttl-expired' });
  });

  it('uses a loaded plugin named like the default type when no reference is given', async () => {
    const text = `
featureGates: [flowControl]
plugins:
  - type: static-usage-limit-policy
    parameters: { threshold: 0.5 }
flowControl: {}
`;
    const { pluginsByName, config } = await load(text);
    const state = { saturation: 0.6 };
    const clock = new ManualClock();
    const controller = createFlowController({
      config,
      pluginsByName,
      saturation: () => state.saturation,
      hasEndpoints: () => true,
      now: clock.now,
      timers: clock.timers,
    });
    const decided = controller.enqueue({
      requestId: 'r',
      priority: 0,
      fairnessId: 'f',
      byteSize: 1,
      receivedAt: 0,
    });
    await flush();
    expect(controller.stats().queuedRequests).toBe(1);
    state.saturation = 0.4;
    controller.notify();
    await expect(decided).resolves.toMatchObject({ dispatched: true });
  });

  it("falls back to llm-d's defaults without a flowControl section", async () => {
    const controller = createFlowController({
      config: undefined,
      pluginsByName: new Map(),
      saturation: () => 0.99,
      hasEndpoints: () => true,
    });
    await expect(
      controller.enqueue({
        requestId: 'r',
        priority: -5,
        fairnessId: 'f',
        byteSize: 1,
        receivedAt: Date.now(),
      }),
    ).resolves.toMatchObject({ dispatched: true });
    controller.close();
  });

  it('names the field when a reference points at a plugin of the wrong kind', async () => {
    const text = `
featureGates: [flowControl]
plugins:
  - type: edf-ordering-policy
flowControl:
  priorityBands:
    - priority: 1
      fairnessPolicyRef: edf-ordering-policy
`;
    const { pluginsByName, config } = await load(text);
    expect(() =>
      createFlowController({ config, pluginsByName, saturation: () => 0, hasEndpoints: () => true }),
    ).toThrow(
      expect.objectContaining({
        code: 'invalid_config',
        path: 'flowControl.priorityBands[0].fairnessPolicyRef',
        message: expect.stringContaining('is not a fairness policy'),
      }),
    );
  });

  it('names the field of an unknown reference in a band template and of a duplicate priority', async () => {
    const unknownTemplateRef = `
featureGates: [flowControl]
flowControl:
  defaultNegativePriorityBand:
    orderingPolicyRef: missing-policy
`;
    const first = await load(unknownTemplateRef);
    expect(() => createFlowController({ ...first, saturation: () => 0, hasEndpoints: () => true })).toThrow(
      expect.objectContaining({ path: 'flowControl.defaultNegativePriorityBand.orderingPolicyRef' }),
    );

    const duplicate = `
featureGates: [flowControl]
flowControl:
  priorityBands:
    - priority: 3
    - priority: 3
`;
    const second = await load(duplicate);
    expect(() => createFlowController({ ...second, saturation: () => 0, hasEndpoints: () => true })).toThrow(
      expect.objectContaining({ path: 'flowControl.priorityBands[1].priority' }),
    );
  });
});

async function route(
  scheduler: Scheduler,
  request: ReturnType<typeof createSchedulingRequest>,
  endpoints: ReadonlyArray<EndpointState>,
): Promise<void> {
  const outcome = await scheduler.schedule(request, endpoints);
  if (!outcome.ok) throw new Error(`scheduling failed: ${outcome.message}`);
  await scheduler.preRequest(request, outcome.result);
}
