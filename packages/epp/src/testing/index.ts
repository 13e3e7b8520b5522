export * from '../server/testing/index.js';
export { createTestScheduler, type TestSchedulerOptions } from './create-test-scheduler.js';
export {
  createTestEndpointState,
  createTestSchedulingEndpoint,
  type TestEndpointInit,
} from './test-endpoints.js';
