import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { type SimCluster, startSimCluster } from '@llmd/sim';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { healthServiceNames, loadHealthProtos } from './server/health-service.js';
import { createExtProcTestClient, type ExtProcTestClient } from './server/testing/index.js';
import { type EppServer, startEppServer } from './start-epp-server.js';

const model = 'Qwen/Qwen3-0.6B';
const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

let cluster: SimCluster;
beforeAll(async () => {
  cluster = await startSimCluster({ replicas: 3, config: { model, timeScale: 50 } });
  return () => cluster.close(0);
});

async function startEpp(extra: Record<string, unknown> = {}): Promise<EppServer> {
  const server = await startEppServer({
    grpcPort: 0,
    grpcHealthPort: 0,
    metricsPort: 0,
    host: '127.0.0.1',
    secureServing: 'false',
    endpoints: cluster.endpoints.join(','),
    ...extra,
  });
  closers.push(() => server.close());
  return server;
}

function extProcClient(server: EppServer): Pick<ExtProcTestClient, 'openStream'> {
  const client = createExtProcTestClient({ address: `127.0.0.1:${server.extProc.port}` });
  closers.push(() => client.close());
  return {
    // Envoy ends each stream after the response; these tests stop after routing, so end them here.
    openStream: () => {
      const stream = client.openStream();
      closers.push(() => stream.cancel());
      return stream;
    },
  };
}

const longPrompt = `${'System: you answer questions about distributed inference in depth. '.repeat(3000)}User: explain KV caches.`;
const body = JSON.stringify({ model, messages: [{ role: 'user', content: longPrompt }], max_tokens: 4 });

describe('llmd epp (startEppServer) with simulated pods', () => {
  it('routes an Envoy ext_proc request: header, envoy.lb metadata, body re-chunked ≤ 62,000 bytes, sticky on repeat', async () => {
    const server = await startEpp();
    const client = extProcClient(server);
    expect(Buffer.byteLength(body)).toBeGreaterThan(200_000);
    const first = await client
      .openStream()
      .sendRequest({ method: 'POST', path: '/v1/chat/completions', body, chunkBytes: 16_384 });
    if (first.kind !== 'routed') throw new Error(`expected a route, got ${first.status} ${first.body}`);
    expect(cluster.endpoints).toContain(first.destination);
    expect(first.dynamicMetadata['envoy.lb']).toEqual({
      'x-gateway-destination-endpoint': first.destination,
    });
    expect(first.setHeaders['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(first.body.toString()).toBe(body);
    expect(Math.max(...first.bodyChunkSizes)).toBeLessThanOrEqual(62_000);
    expect(first.bodyChunkSizes.length).toBeGreaterThan(1);

    const second = await client
      .openStream()
      .sendRequest({ method: 'POST', path: '/v1/chat/completions', body });
    expect(second.kind === 'routed' && second.destination).toBe(first.destination);
  });

  it('answers an empty subset hint with 503 and the drop reason', async () => {
    const server = await startEpp();
    const result = await extProcClient(server)
      .openStream()
      .sendRequest({ method: 'POST', path: '/v1/chat/completions', body, subsetHint: [] });
    expect(result.kind).toBe('immediate');
    if (result.kind !== 'immediate') return;
    expect(result.status).toBe(503);
    expect(result.headers['x-llm-d-request-dropped-reason']).toBe('rejected-no-endpoints');
  });

  it('reports SERVING for liveness, readiness and the ext_proc service', async () => {
    const server = await startEpp();
    const { HealthClient } = loadHealthProtos();
    const health = new HealthClient(
      `127.0.0.1:${server.extProc.healthPort}`,
      grpc.credentials.createInsecure(),
    );
    closers.push(() => health.close());
    const check = (service: string) =>
      new Promise<string>((resolve, reject) =>
        (health as unknown as Record<string, (...args: unknown[]) => void>).Check?.(
          { service },
          (error: grpc.ServiceError | null, response: { status: string }) =>
            error ? reject(error) : resolve(response.status),
        ),
      );
    for (const service of [
      healthServiceNames.liveness,
      healthServiceNames.readiness,
      healthServiceNames.extProc,
    ]) {
      expect(await check(service)).toBe('SERVING');
    }
    server.drain();
    expect(await check(healthServiceNames.readiness)).toBe('NOT_SERVING');
  });

  it('serves llm_d_epp_* metrics that promtool accepts', async () => {
    const server = await startEpp();
    await extProcClient(server)
      .openStream()
      .sendRequest({ method: 'POST', path: '/v1/chat/completions', body });
    const exposition = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
    expect(exposition).toMatch(/^llm_d_epp_request_total\{.*\} 1$/m);
    expect(exposition).toMatch(/^llm_d_epp_ready_endpoints 3$/m);
    expect(exposition).toMatch(/^llm_d_epp_scheduler_e2e_duration_seconds_count 1$/m);
    const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((path) => existsSync(path));
    if (!promtool) {
      console.warn('promtool is not installed (apt-get install prometheus); skipped the promtool check');
      return;
    }
    const folder = await mkdtemp(join(tmpdir(), 'llmd-epp-metrics-'));
    closers.push(() => rm(folder, { recursive: true, force: true }));
    const file = join(folder, 'metrics.txt');
    await writeFile(file, exposition);
    // promtool parses the exposition (exit 1 on a format error) and lints it (exit 3). Its linter
    // reads the `_d_` of llm-d's mandated `llm_d_epp_` prefix as an abbreviated unit (days); the
    // names must stay llm-d's, so that must be the only finding.
    const result = await promisify(execFile)('sh', ['-c', `${promtool} check metrics < ${file}`]).then(
      ({ stdout, stderr }) => ({ code: 0, output: `${stdout}${stderr}` }),
      (error: { code: number; stdout: string; stderr: string }) => ({
        code: error.code,
        output: `${error.stdout}${error.stderr}`,
      }),
    );
    expect([0, 3]).toContain(result.code);
    const findings = result.output.split('\n').filter((line) => line.trim() !== '');
    expect(
      findings.filter(
        (line) => !/^llm_d_epp_\w+ metric names should not contain abbreviated units$/.test(line),
      ),
    ).toEqual([]);
  });

  it('refuses a config naming an unknown plugin type, naming it', async () => {
    await expect(startEpp({ configText: 'plugins: [{ type: nonexistent-scorer }]' })).rejects.toThrow(
      /plugins\[0\]\.type: unknown plugin type "nonexistent-scorer"/,
    );
  });
});
