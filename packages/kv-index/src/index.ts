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
  type EndpointStreamState,
  type KvIndexService,
  type KvIndexServiceOptions,
  startKvIndexService,
} from './service/kv-index-service.js';
