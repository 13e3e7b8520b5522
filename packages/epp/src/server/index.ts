export { maxBodyChunkBytes, splitBody } from './body-chunks.js';
export type {
  ProcessingRequestMessage,
  ProcessingResponseMessage,
  StructMessage,
  ValueMessage,
} from './ext-proc-messages.js';
export { type ExtProcProtos, envoyProtoIncludeDirectories, loadExtProcProtos } from './ext-proc-protos.js';
export {
  createExtProcHandler,
  defaultMaxBodyBytes,
  type ExtProcCall,
  type ExtProcHandler,
  type ExtProcHandlerOptions,
} from './ext-proc-server.js';
export {
  createHealthImplementation,
  type HealthProtos,
  type HealthState,
  healthServiceNames,
  healthStatus,
  loadHealthProtos,
  type ServingStatus,
} from './health-service.js';
export { immediateResponse, inferenceErrorCode } from './immediate-response.js';
export {
  generateSelfSignedCertificate,
  type SelfSignedCertificateOptions,
  type TlsMaterial,
} from './self-signed-certificate.js';
export {
  defaultExtProcPort,
  defaultHealthPort,
  type ExtProcServer,
  type ExtProcServerOptions,
  startExtProcServer,
} from './start-ext-proc-server.js';
export {
  certificateFileName,
  createServerTls,
  loadCertificateDirectory,
  privateKeyFileName,
  type ServerTls,
  type ServerTlsOptions,
} from './tls.js';
