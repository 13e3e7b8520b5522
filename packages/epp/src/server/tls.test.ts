import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError } from '@llmd/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestPipeline, ResponseExchange } from '../pipeline/request-outcome.js';
import { generateSelfSignedCertificate } from './self-signed-certificate.js';
import { type ExtProcServerOptions, startExtProcServer } from './start-ext-proc-server.js';
import { createExtProcTestClient, type ExtProcTestClientOptions } from './testing/ext-proc-test-client.js';
import { loadCertificateDirectory } from './tls.js';

const noOpExchange: ResponseExchange = {
  responseHeaders: () => ({}),
  responseChunk: (chunk) => chunk,
  complete: () => undefined,
};

// Our own RequestPipeline interface, implemented minimally: every request goes to one endpoint.
const singleEndpointPipeline: RequestPipeline = {
  handle: async (request) => ({
    kind: 'route',
    requestId: 'r',
    targets: ['10.0.0.1:8000'] as never,
    headersToSet: {},
    headersToRemove: [],
    body: request.body,
    endpointScores: {},
    exchange: noOpExchange,
  }),
};

describe('ext_proc TLS', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(options: Partial<ExtProcServerOptions> = {}) {
    const server = await startExtProcServer({
      pipeline: singleEndpointPipeline,
      port: 0,
      healthPort: false,
      host: '127.0.0.1',
      shutdownTimeoutMilliseconds: 1_000,
      ...options,
    });
    cleanups.push(() => server.close());
    return server;
  }

  async function route(port: number, tls: ExtProcTestClientOptions['tls']) {
    const client = createExtProcTestClient({
      address: `localhost:${port}`,
      timeoutMilliseconds: 3_000,
      ...(tls === undefined ? {} : { tls }),
    });
    cleanups.push(() => client.close());
    const stream = client.openStream();
    cleanups.push(() => stream.cancel());
    return stream.sendRequest({ body: '{"model":"m"}' });
  }

  it('serves TLS by default with a generated self-signed certificate a client can trust', async () => {
    const server = await start();

    expect(server.tls?.certificatePem).toContain('BEGIN CERTIFICATE');
    const verified = await route(server.port, { rootCertificatePem: server.tls?.certificatePem as string });
    expect(verified).toMatchObject({ kind: 'routed', destination: '10.0.0.1:8000' });
    // Envoy's EPP cluster does not verify the certificate; neither does this client.
    const unverified = await route(server.port, { rejectUnauthorized: false });
    expect(unverified.kind).toBe('routed');
  });

  it('refuses plaintext clients when TLS is on', async () => {
    const server = await start();

    await expect(route(server.port, undefined)).rejects.toThrow();
  });

  it('loads tls.crt and tls.key from certPath', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'llmd-epp-tls-'));
    cleanups.push(() => rm(directory, { recursive: true, force: true }));
    const material = generateSelfSignedCertificate({ commonName: 'loaded' });
    await writeFile(join(directory, 'tls.crt'), material.certificatePem);
    await writeFile(join(directory, 'tls.key'), material.privateKeyPem);

    const server = await start({ certPath: directory });

    expect(server.tls?.certificatePem).toBe(material.certificatePem);
    const result = await route(server.port, { rootCertificatePem: material.certificatePem });
    expect(result.kind).toBe('routed');
  });

  it('rejects a certPath with missing files or a key that does not match', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'llmd-epp-tls-'));
    cleanups.push(() => rm(directory, { recursive: true, force: true }));

    await expect(loadCertificateDirectory(directory)).rejects.toSatisfy(
      (error) => InvalidArgumentError.isInstance(error) && error.path === 'certPath',
    );

    await writeFile(join(directory, 'tls.crt'), generateSelfSignedCertificate().certificatePem);
    await writeFile(join(directory, 'tls.key'), generateSelfSignedCertificate().privateKeyPem);
    await expect(loadCertificateDirectory(directory)).rejects.toThrow(/does not match/);
  });

  it('serves plaintext when secureServing is false', async () => {
    const server = await start({ secureServing: false });

    expect(server.tls).toBeUndefined();
    expect((await route(server.port, undefined)).kind).toBe('routed');
    await expect(
      new Promise((resolve, reject) => {
        const client = new grpc.Client(`localhost:${server.port}`, grpc.credentials.createSsl());
        cleanups.push(() => client.close());
        client.waitForReady(Date.now() + 500, (error) => (error ? reject(error) : resolve(undefined)));
      }),
    ).rejects.toThrow();
  });
});
