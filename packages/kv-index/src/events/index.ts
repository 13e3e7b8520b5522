export { blockHashFromWire } from './block-hash-from-wire.js';
export {
  createKvEventBatchDecoder,
  type DecodedKvEventBatch,
  type DecodeKvEventBatchOptions,
  decodeKvEventBatch,
  type KvEventBatchDecoder,
} from './decode-kv-event-batch.js';
export { KvEventDecodeError } from './kv-event-decode-error.js';
export {
  type KvEventTopic,
  type ParseKvEventTopicOptions,
  parseKvEventTopic,
} from './parse-kv-event-topic.js';
