export {
  findSharedFolder,
  readVllmKvEventFixture,
  sharedFixturesMissingMessage,
  type VllmKvEventFixture,
} from './shared-fixtures.js';
