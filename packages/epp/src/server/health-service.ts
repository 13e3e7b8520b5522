import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { eppProtoDirectory } from './proto-directory.js';

/** The service names the EPP answers health checks for (epp-protocol.md §8). */
export const healthServiceNames = {
  liveness: 'liveness',
  readiness: 'readiness',
  /** What Envoy's gRPC health check on the EPP cluster asks for. */
  extProc: 'envoy.service.ext_proc.v3.ExternalProcessor',
  overall: '',
} as const;

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

export interface HealthState {
  /** Pool synced, plugins ready, (leader, when leader election is on). */
  isReady(): boolean;
  /** True once draining started: readiness turns NOT_SERVING while streams keep being served. */
  isDraining(): boolean;
}

export interface HealthProtos {
  /** `grpc.health.v1.Health`. */
  readonly HealthClient: grpc.ServiceClientConstructor;
  readonly healthService: grpc.ServiceDefinition;
}

/** Loads proto/health.proto (the gRPC Health Checking Protocol). */
export function loadHealthProtos(): HealthProtos {
  const definition = protoLoader.loadSync(join(eppProtoDirectory(), 'health.proto'), {
    keepCase: true,
    enums: String,
    defaults: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  const HealthClient = loaded.grpc.health.v1.Health;
  return { HealthClient, healthService: HealthClient.service };
}

/** The status for one service name, or undefined for names the EPP does not know. */
export function healthStatus(service: string, state: HealthState): ServingStatus | undefined {
  switch (service) {
    case healthServiceNames.liveness:
      // Answering at all is the liveness signal.
      return 'SERVING';
    case healthServiceNames.readiness:
    case healthServiceNames.extProc:
    case healthServiceNames.overall:
      return isReadySafely(state) && !state.isDraining() ? 'SERVING' : 'NOT_SERVING';
    default:
      return undefined;
  }
}

/** A readiness callback that throws means "not ready", never a failed health RPC. */
function isReadySafely(state: HealthState): boolean {
  try {
    return state.isReady();
  } catch {
    return false;
  }
}

/**
 * The `grpc.health.v1.Health` implementation: `Check` per {@link healthStatus} (unknown service →
 * NOT_FOUND, as the protocol requires); `Watch` → UNIMPLEMENTED, as in llm-d.
 */
export function createHealthImplementation(state: HealthState): grpc.UntypedServiceImplementation {
  return {
    Check: (
      call: grpc.ServerUnaryCall<{ service: string }, { status: ServingStatus }>,
      callback: grpc.sendUnaryData<{ status: ServingStatus }>,
    ) => {
      const service = call.request.service;
      const status = healthStatus(service, state);
      if (status === undefined) {
        callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${JSON.stringify(service)}` });
        return;
      }
      callback(null, { status });
    },
    Watch: (call: grpc.ServerWritableStream<{ service: string }, { status: ServingStatus }>) => {
      call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'Watch is not implemented' });
    },
  };
}
