import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError, type Logger, noopLogger } from '@llmd/core';
import type { RequestPipeline } from '../pipeline/request-outcome.js';
import { loadExtProcProtos } from './ext-proc-protos.js';
import { createExtProcHandler } from './ext-proc-server.js';
import { createHealthImplementation, type HealthState, loadHealthProtos } from './health-service.js';
import type { TlsMaterial } from './self-signed-certificate.js';
import { createServerTls } from './tls.js';

/** llm-d's `--grpc-port` and `--grpc-health-port` defaults. */
export const defaultExtProcPort = 9002;
export const defaultHealthPort = 9003;

export interface ExtProcServerOptions {
  readonly pipeline: RequestPipeline;
  /** ext_proc port; default 9002, 0 picks a free port. */
  readonly port?: number;
  /**
   * Plaintext gRPC health port (kubelet probes); default 9003, 0 picks a free port, `false` starts
   * no separate health server. Health is also answered on the ext_proc port, where Envoy's
   * cluster health check (`service_name: envoy.service.ext_proc.v3.ExternalProcessor`) goes.
   */
  readonly healthPort?: number | false;
  /** Interface to bind; default `0.0.0.0`. */
  readonly host?: string;
  /** TLS on the ext_proc port; default true. */
  readonly secureServing?: boolean;
  /** Directory with `tls.crt` / `tls.key`; a self-signed certificate is generated when absent. */
  readonly certPath?: string;
  /** Request-body bytes all streams may hold at once before new ones get 429; default 1 GiB. */
  readonly maxBufferedBodyBytes?: number;
  /** Request body limit before a 413; default 16 MiB. */
  readonly maxBodyBytes?: number;
  readonly emitEndpointScores?: boolean;
  /** Readiness (pool synced, plugins ready, leader); default always ready. */
  readonly isReady?: () => boolean;
  readonly logger?: Logger;
  /** `--grpc-max-recv-msg-size`; grpc-js' default (4 MiB) when absent. */
  readonly grpcMaxReceiveMessageBytes?: number;
  /** `--grpc-max-send-msg-size`; unlimited when absent. */
  readonly grpcMaxSendMessageBytes?: number;
  /** How long `close()` waits for open streams before cancelling them; default 5 s. */
  readonly shutdownTimeoutMilliseconds?: number;
}

export interface ExtProcServer {
  readonly port: number;
  /** undefined when no separate health server runs. */
  readonly healthPort: number | undefined;
  /** The serving certificate (self-signed or loaded); undefined without TLS. */
  readonly tls: TlsMaterial | undefined;
  /** Streams currently open, for metrics. */
  activeStreams(): number;
  /** Reports NOT_SERVING from now on (SIGTERM), but keeps serving ext_proc streams. */
  drain(): void;
  isDraining(): boolean;
  /** Stops accepting streams, waits for open ones up to the shutdown timeout, then cancels them. */
  close(): Promise<void>;
}

function checkPort(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 65_535) {
    throw new InvalidArgumentError(`${name} must be an integer from 0 to 65535, got ${value}`, {
      path: name,
    });
  }
}

function checkPositive(value: number | undefined, name: string): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value <= 0)) {
    throw new InvalidArgumentError(`${name} must be a positive integer, got ${value}`, { path: name });
  }
}

function bindAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

async function bind(
  server: grpc.Server,
  address: string,
  credentials: grpc.ServerCredentials,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.bindAsync(address, credentials, (error, port) => (error ? reject(error) : resolve(port)));
  });
}

async function shutdown(server: grpc.Server, timeoutMilliseconds: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, timeoutMilliseconds);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Starts the EPP's Envoy-facing gRPC server: `envoy.service.ext_proc.v3.ExternalProcessor` (TLS by
 * default) plus the gRPC health service, and a plaintext health server on its own port.
 */
export async function startExtProcServer(options: ExtProcServerOptions): Promise<ExtProcServer> {
  const port = options.port ?? defaultExtProcPort;
  const healthPort = options.healthPort ?? defaultHealthPort;
  checkPort(port, 'port');
  if (healthPort !== false) checkPort(healthPort, 'healthPort');
  checkPositive(options.grpcMaxReceiveMessageBytes, 'grpcMaxReceiveMessageBytes');
  checkPositive(options.grpcMaxSendMessageBytes, 'grpcMaxSendMessageBytes');
  checkPositive(options.shutdownTimeoutMilliseconds, 'shutdownTimeoutMilliseconds');
  const host = options.host ?? '0.0.0.0';
  const logger = (options.logger ?? noopLogger).child({ component: 'ext-proc-server' });
  const shutdownTimeoutMilliseconds = options.shutdownTimeoutMilliseconds ?? 5_000;

  const extProcProtos = loadExtProcProtos();
  const healthProtos = loadHealthProtos();
  const handler = createExtProcHandler({
    pipeline: options.pipeline,
    httpStatusNames: extProcProtos.httpStatusNames,
    emitEndpointScores: options.emitEndpointScores ?? false,
    logger: options.logger ?? noopLogger,
    ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
    ...(options.maxBufferedBodyBytes === undefined
      ? {}
      : { maxBufferedBodyBytes: options.maxBufferedBodyBytes }),
  });
  let draining = false;
  const isReady = options.isReady ?? (() => true);
  const healthState: HealthState = { isReady, isDraining: () => draining };
  const health = createHealthImplementation(healthState);
  const tls = await createServerTls({
    secureServing: options.secureServing ?? true,
    ...(options.certPath === undefined ? {} : { certPath: options.certPath }),
  });

  const serverOptions: grpc.ServerOptions = {
    ...(options.grpcMaxReceiveMessageBytes === undefined
      ? {}
      : { 'grpc.max_receive_message_length': options.grpcMaxReceiveMessageBytes }),
    ...(options.grpcMaxSendMessageBytes === undefined
      ? {}
      : { 'grpc.max_send_message_length': options.grpcMaxSendMessageBytes }),
  };
  const servers: grpc.Server[] = [];
  try {
    const extProcServer = new grpc.Server(serverOptions);
    servers.push(extProcServer);
    extProcServer.addService(extProcProtos.externalProcessorService, { Process: handler.process });
    extProcServer.addService(healthProtos.healthService, health);
    const boundPort = await bind(extProcServer, bindAddress(host, port), tls.credentials);

    let boundHealthPort: number | undefined;
    if (healthPort !== false) {
      const healthServer = new grpc.Server();
      servers.push(healthServer);
      healthServer.addService(healthProtos.healthService, health);
      boundHealthPort = await bind(
        healthServer,
        bindAddress(host, healthPort),
        grpc.ServerCredentials.createInsecure(),
      );
    }
    logger.info(
      { port: boundPort, healthPort: boundHealthPort, tls: tls.material !== undefined },
      'ext_proc server listening',
    );

    let closing: Promise<void> | undefined;
    return {
      port: boundPort,
      healthPort: boundHealthPort,
      tls: tls.material,
      activeStreams: handler.activeStreams,
      drain: () => {
        if (!draining) logger.info({}, 'draining: health reports NOT_SERVING, streams are still served');
        draining = true;
      },
      isDraining: () => draining,
      close: () => {
        draining = true;
        closing ??= Promise.all(servers.map((server) => shutdown(server, shutdownTimeoutMilliseconds))).then(
          () => {
            logger.info({}, 'ext_proc server closed');
          },
        );
        return closing;
      },
    };
  } catch (error) {
    for (const server of servers) server.forceShutdown();
    throw error;
  }
}
