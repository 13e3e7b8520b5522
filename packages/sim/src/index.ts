export { parseDurationMilliseconds } from './config/duration.js';
export {
  type FailureType,
  failureTypes,
  ignoredVllmFlags,
  type SimConfig,
  type SimConfigInput,
  simConfigSchema,
} from './config/sim-config.js';
export type {
  EngineRequestHandle,
  EngineRequestInput,
  EngineRequestObserver,
  EngineRequestResult,
  FinishReason,
} from './engine/engine-request.js';
export { KvBlockPool } from './engine/kv-block-pool.js';
export type { LatencyProfile } from './engine/latency-model.js';
export {
  SimEngine,
  SimEngineClosedError,
  SimEngineFullError,
  type SimEngineOptions,
} from './engine/sim-engine.js';
export {
  createKvEventPublisher,
  encodeKvEventBatch,
  type KvEventPublisher,
  type KvEventPublisherOptions,
  kvEventsConfigSchema,
  parseKvEventsConfig,
} from './kv-events/index.js';
export { SimMetrics } from './metrics/sim-metrics.js';
export { type SimCluster, type StartSimClusterOptions, startSimCluster } from './sim-cluster.js';
export { type SimRank, type SimServer, type StartSimServerOptions, startSimServer } from './sim-server.js';
export { WordTokenizer } from './tokenizer/word-tokenizer.js';
