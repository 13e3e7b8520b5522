export type { EndpointProbe } from './check-endpoints.js';
export type { KvEventObservation } from './collect-kv-events.js';
export {
  type BlockHashing,
  commonHashSeeds,
  detectBlockHashing,
  hashingCandidates,
} from './detect-block-hashing.js';
export {
  createDoctorReport,
  type DoctorCheck,
  type DoctorFinding,
  type DoctorReport,
  type DoctorStatus,
  doctorChecks,
  doctorStatuses,
} from './doctor-finding.js';
export {
  type DoctorKvEventTarget,
  type DoctorOptions,
  type DoctorOptionsInput,
  doctorOptionsSchema,
} from './doctor-options.js';
export { formatDoctorReport } from './format-doctor-report.js';
export { type RunDoctorContext, runDoctor } from './run-doctor.js';
