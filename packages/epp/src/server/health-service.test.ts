import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestPipeline } from '../pipeline/request-outcome.js';
import { healthServiceNames, loadHealthProtos } from './health-service.js';
import { type ExtProcServer, startExtProcServer } from './start-ext-proc-server.js';

// A pipeline is required to start the server; health checks never call it.
const unusedPipeline: RequestPipeline = {
  handle: async () => {
    throw new Error('not called by health checks');
  },
};

type CheckResult = { status: string } | { code: number };

function check(client: grpc.Client, service: string): Promise<CheckResult> {
  return new Promise((resolve) => {
    (client as unknown as Record<string, (...args: unknown[]) => void>).Check?.(
      { service },
      (error: grpc.ServiceError | null, response: { status: string }) =>
        resolve(error === null ? { status: response.status } : { code: error.code }),
    );
  });
}

describe('gRPC health service', () => {
  const { HealthClient } = loadHealthProtos();
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(isReady: () => boolean): Promise<ExtProcServer> {
    const server = await startExtProcServer({
      pipeline: unusedPipeline,
      port: 0,
      healthPort: 0,
      host: '127.0.0.1',
      isReady,
      shutdownTimeoutMilliseconds: 1_000,
    });
    cleanups.push(() => server.close());
    return server;
  }

  function plaintextClient(port: number): grpc.Client {
    const client = new HealthClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    cleanups.push(() => client.close());
    return client;
  }

  it('reports SERVING for liveness, readiness, the ext_proc service and "" on the health port', async () => {
    const server = await start(() => true);
    const client = plaintextClient(server.healthPort as number);

    for (const service of Object.values(healthServiceNames)) {
      expect(await check(client, service)).toEqual({ status: 'SERVING' });
    }
    expect(await check(client, 'some.other.Service')).toEqual({ code: grpc.status.NOT_FOUND });
  });

  it('follows isReady for everything but liveness', async () => {
    let ready = false;
    const server = await start(() => ready);
    const client = plaintextClient(server.healthPort as number);

    expect(await check(client, 'liveness')).toEqual({ status: 'SERVING' });
    expect(await check(client, 'readiness')).toEqual({ status: 'NOT_SERVING' });
    expect(await check(client, healthServiceNames.extProc)).toEqual({ status: 'NOT_SERVING' });
    expect(await check(client, '')).toEqual({ status: 'NOT_SERVING' });

    ready = true;
    expect(await check(client, 'readiness')).toEqual({ status: 'SERVING' });
  });

  it('reports NOT_SERVING after drain() while liveness stays SERVING', async () => {
    const server = await start(() => true);
    const client = plaintextClient(server.healthPort as number);

    server.drain();

    expect(server.isDraining()).toBe(true);
    expect(await check(client, 'readiness')).toEqual({ status: 'NOT_SERVING' });
    expect(await check(client, healthServiceNames.extProc)).toEqual({ status: 'NOT_SERVING' });
    expect(await check(client, '')).toEqual({ status: 'NOT_SERVING' });
    expect(await check(client, 'liveness')).toEqual({ status: 'SERVING' });
  });

  it("also answers on the ext_proc port over TLS, where Envoy's cluster health check goes", async () => {
    const server = await start(() => true);
    const client = new HealthClient(
      `localhost:${server.port}`,
      grpc.credentials.createSsl(Buffer.from(server.tls?.certificatePem ?? '')),
    );
    cleanups.push(() => client.close());

    expect(await check(client, healthServiceNames.extProc)).toEqual({ status: 'SERVING' });
  });

  it('answers Watch with UNIMPLEMENTED', async () => {
    const server = await start(() => true);
    const client = plaintextClient(server.healthPort as number);

    const code = await new Promise<number>((resolve) => {
      const call = (
        client as unknown as Record<string, (request: unknown) => grpc.ClientReadableStream<unknown>>
      ).Watch?.({ service: '' });
      call?.on('error', (error: grpc.ServiceError) => resolve(error.code));
      call?.on('data', () => undefined);
    });

    expect(code).toBe(grpc.status.UNIMPLEMENTED);
  });
});
