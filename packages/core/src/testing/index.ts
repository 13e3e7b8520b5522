export {
  kvEventGoldenArrayHex,
  kvEventGoldenBatch,
  kvEventGoldenHash,
  kvEventGoldenMapHex,
} from './kv-event-golden.js';
export {
  findSharedFolder,
  readVllmKvEventFixture,
  sharedFixturesMissingMessage,
  type VllmKvEventFixture,
} from './shared-fixtures.js';
export { findRedisServerBinary, type RedisServerForTests, startRedisServer } from './start-redis-server.js';
