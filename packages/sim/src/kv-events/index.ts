export { dataParallelEndpoint } from './data-parallel-endpoint.js';
export {
  type EncodeKvEventBatchOptions,
  encodeKvEventBatch,
  type KvEventWireFormat,
} from './encode-kv-event-batch.js';
export {
  createKvEventPublisher,
  type KvEventPublisher,
  type KvEventPublisherOptions,
  type KvEventPublisherStats,
} from './kv-event-publisher.js';
export {
  type KvEventsConfig,
  kvEventPublisherOptionsFromConfig,
  kvEventsConfigSchema,
  parseKvEventsConfig,
} from './kv-events-config.js';
export { decodeSequenceFrame, encodeSequenceFrame, endOfReplaySequence } from './sequence-frame.js';
export { shouldBindEndpoint } from './should-bind-endpoint.js';
