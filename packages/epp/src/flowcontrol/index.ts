export {
  type CreateFlowControllerOptions,
  createFlowController,
  defaultPolicyPluginNames,
} from './create-flow-controller.js';
export {
  compareArrival,
  type FairnessPolicy,
  type FlowQueueView,
  isFairnessPolicy,
  isOrderingPolicy,
  isUsageLimitPolicy,
  type OrderingPolicy,
  type PriorityBandView,
  type QueuedRequestView,
  type UsageLimitPolicy,
} from './flow-control-policies.js';
export {
  defaultBandMaxBytes,
  defaultBandMaxRequests,
  defaultCycleIntervalMilliseconds,
  defaultMaxDispatchesPerCycle,
  defaultRequestTTLMilliseconds,
  type FlowControlBandStats,
  FlowController,
  type FlowControllerOptions,
  type FlowControllerTimers,
  type FlowControlStats,
  type FlowDecision,
  type FlowRequest,
  type PriorityBandSettings,
} from './flow-controller.js';
export { ManualClock } from './manual-clock.js';
export { sloDeadlineFromHeaders } from './slo-deadline.js';
