export {
  createExtProcTestClient,
  type ExtProcTestClient,
  type ExtProcTestClientOptions,
  ExtProcTestStream,
  type RequestPhaseResult,
  type ResponsePhaseResult,
  type TestRequest,
  type TestResponse,
} from './ext-proc-test-client.js';
