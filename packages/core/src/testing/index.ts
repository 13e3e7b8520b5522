export {
  type VllmKvEventFixture,
  findSharedFolder,
  readVllmKvEventFixture,
  sharedFixturesMissingMessage,
} from './shared-fixtures.js';
