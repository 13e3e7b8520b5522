import type { FlowControlContext, FlowControlHandle } from './endpoint-picker.js';
import { createFlowController } from './flowcontrol/create-flow-controller.js';
import { sloDeadlineFromHeaders } from './flowcontrol/slo-deadline.js';
import type { FlowAdmission } from './pipeline/endpoint-picker-pipeline.js';

const maxRememberedDispatches = 4096;

/**
 * llmd's flow control for `createEndpointPicker`: a {@link createFlowController} whose saturation
 * comes from the configured detector, and which counts dispatches the scraped metrics cannot have
 * seen yet (those after the oldest endpoint's last scrape), so one metrics interval does not release
 * a burst the pool then drowns in.
 */
export function createDefaultFlowControl(context: FlowControlContext): FlowAdmission & FlowControlHandle {
  const { loaded, scheduler, datastore, logger, now } = context;
  const dispatchTimes: number[] = [];
  const unobservedDispatches = (): number => {
    const endpoints = datastore.snapshot();
    if (endpoints.length === 0) return 0;
    let oldestScrape = Number.POSITIVE_INFINITY;
    for (const state of endpoints) oldestScrape = Math.min(oldestScrape, state.metrics.updateTime);
    while (dispatchTimes.length > 0 && (dispatchTimes[0] as number) < oldestScrape) dispatchTimes.shift();
    return dispatchTimes.length;
  };
  const controller = createFlowController({
    config: loaded.config.flowControl,
    pluginsByName: loaded.pluginsByName,
    saturation: () => scheduler.saturation(datastore.snapshot()),
    hasEndpoints: () => datastore.size > 0,
    dispatchedInFlight: unobservedDispatches,
    // The bound covers dispatches the metrics have not seen yet; sized so an idle pool is never the bottleneck.
    maxDispatchesPerCycle: 256,
    logger,
    now,
  });
  return {
    async enqueue(request) {
      const decision = await controller.enqueue({
        requestId: request.requestId,
        priority: request.priority,
        fairnessId: request.fairnessId,
        byteSize: request.byteSize,
        receivedAt: request.receivedAt,
        signal: request.signal,
        ...(() => {
          const deadline = sloDeadlineFromHeaders(request.headers, request.receivedAt);
          return deadline === undefined ? {} : { sloDeadline: deadline };
        })(),
      });
      if (decision.dispatched) {
        dispatchTimes.push(now());
        if (dispatchTimes.length > maxRememberedDispatches) dispatchTimes.shift();
        return { dispatched: true };
      }
      return decision;
    },
    notify: () => controller.notify(),
    stats: () => {
      const stats = controller.stats();
      return { queueSize: stats.queuedRequests, queueBytes: stats.queuedBytes };
    },
    close: () => controller.close(),
  };
}
