import { createExtProcTestClient } from '@llmd/epp/testing';
import { type SimCluster, startSimCluster } from '@llmd/sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli, waitForExit, waitForOutput } from '../testing-process.js';

let cluster: SimCluster;
beforeAll(async () => {
  cluster = await startSimCluster({ replicas: 2, config: { model: 'm', timeScale: 50 } });
});
afterAll(() => cluster.close(0));

async function stderrOf(
  child: ReturnType<typeof spawnCli>,
): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return { code: await waitForExit(child), stderr };
}

describe('llmd epp', () => {
  it('serves ext_proc in plaintext with --secure-serving=false over the given endpoints, and drains on SIGTERM', async () => {
    const child = spawnCli([
      'epp',
      '--endpoints',
      cluster.endpoints.join(','),
      '--secure-serving=false',
      '--grpc-port',
      '0',
      '--grpc-health-port',
      '0',
      '--metrics-port',
      '0',
      '--host',
      '127.0.0.1',
    ]);
    try {
      const match = await waitForOutput(
        child,
        /ext_proc on port (\d+) \(plaintext\).*metrics on (\d+); 2 endpoints/,
      );
      const client = createExtProcTestClient({ address: `127.0.0.1:${match[1]}` });
      const stream = client.openStream();
      const result = await stream.sendRequest({
        method: 'POST',
        path: '/v1/completions',
        body: JSON.stringify({ model: 'm', prompt: 'hello', max_tokens: 1 }),
      });
      expect(result.kind === 'routed' && cluster.endpoints.includes(result.destination ?? '')).toBe(true);
      stream.cancel();
      client.close();
      const metrics = await (await fetch(`http://127.0.0.1:${match[2]}/metrics`)).text();
      expect(metrics).toMatch(/^llm_d_epp_ready_endpoints 2$/m);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await waitForExit(child)).toBe(0);
  });

  it('fails with one line and exit code 2 on a config naming an unknown plugin', async () => {
    const { code, stderr } = await stderrOf(
      spawnCli([
        'epp',
        '--endpoints',
        cluster.endpoints.join(','),
        '--config-text',
        'plugins: [{type: magic-scorer}]',
      ]),
    );
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      'llmd: error: instantiate phase: plugins[0].type: unknown plugin type "magic-scorer" (not implemented by llmd or not registered)',
    );
  });

  it('refuses the metric-name flags llm-d removed', async () => {
    const { code, stderr } = await stderrOf(
      spawnCli([
        'epp',
        '--endpoints',
        '10.0.0.1:8000',
        '--total-queued-requests-metric',
        'vllm:num_requests_waiting',
      ]),
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/^llmd: error: --total-queued-requests-metric was removed/);
  });

  it('names a bad flag value', async () => {
    const { code, stderr } = await stderrOf(
      spawnCli(['epp', '--endpoints', '10.0.0.1:8000', '--grpc-port', 'lots']),
    );
    expect(code).toBe(2);
    expect(stderr.trim()).toMatch(/^llmd: error: --grpc-port: /);
  });
});
