export {
  createKvEventBatchDecoder,
  type DecodedKvEventBatch,
  type DecodeKvEventBatchOptions,
  decodeKvEventBatch,
  KvEventDecodeError,
  type KvEventTopic,
  parseKvEventTopic,
} from './events/index.js';
export {
  InMemoryKvIndexBackend,
  type InMemoryKvIndexBackendOptions,
} from './index/in-memory-kv-index-backend.js';
export {
  defaultTierWeights,
  type EndpointIndexStats,
  type Holder,
  type KvIndexBackend,
  type PrefixScores,
  type ScoreOptions,
  type StoreBlocksInput,
} from './index/kv-index-backend.js';
export {
  createRedisKvIndexBackend,
  normalizeRedisUrl,
  type RedisKvIndexBackendOptions,
} from './index/redis/index.js';
export {
  KvIndex,
  type KvIndexCounters,
  type KvIndexOptions,
  type ScoreTokensResult,
  type StoreOnlyTierBound,
} from './ingest/kv-index.js';
export {
  type KvIndexServer,
  type KvIndexServerConfigInput,
  kvIndexServerConfigSchema,
  startKvIndexServer,
} from './kv-index-server.js';
export {
  type EndpointStreamState,
  type KvIndexService,
  type KvIndexServiceOptions,
  startKvIndexService,
} from './service/kv-index-service.js';
export {
  type CentralKvEventSubscriberOptions,
  createKvEventSubscriber,
  type KvEventDelivery,
  type KvEventEndpointTarget,
  type KvEventSubscriber,
  type KvEventSubscriberOptions,
  type KvEventSubscriberStats,
  type PerPodKvEventSubscriberOptions,
} from './subscription/index.js';
