export {
  createRedisKvIndexBackend,
  defaultRedisKeyPrefix,
  type RedisKvIndexBackendOptions,
} from './redis-kv-index-backend.js';
export { normalizeRedisUrl } from './redis-url.js';
