import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { startEppServer } from '@llmd/epp';
import { startKvIndexServer } from '@llmd/kv-index';
import { type SimConfigInput, startSimServer } from '@llmd/sim';
import { afterEach, describe, expect, it } from 'vitest';
import type { DoctorFinding, DoctorReport } from './doctor-finding.js';
import { runDoctor } from './run-doctor.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const model = 'doctor-model';
const prompt = 'the quick brown fox jumps over the lazy dog while the cat sleeps in the warm afternoon sun';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A simulated vLLM pod publishing KV events (with a replay socket, so the doctor sees earlier events too). */
async function startPod(config: Partial<SimConfigInput> = {}, kvEvents: Record<string, unknown> = {}) {
  const sim = await startSimServer({
    port: 0,
    model,
    blockSize: 4,
    prefixCachingHashAlgo: 'sha256_cbor',
    hashSeed: '42',
    timeScale: 100,
    kvEventsConfig: {
      enable_kv_cache_events: true,
      endpoint: 'tcp://127.0.0.1:*',
      replay_endpoint: 'tcp://127.0.0.1:*',
      ...kvEvents,
    },
    ...config,
  });
  closers.push(() => sim.close(0));
  const key = new URL(sim.url).host;
  const publisher = sim.ranks[0]?.kvEvents;
  return {
    sim,
    key,
    eventsEndpoint: publisher?.endpoint as string,
    kvEvents: `${key}=${publisher?.endpoint}|${publisher?.replayEndpoint}`,
  };
}

async function complete(url: string, text = prompt): Promise<void> {
  const response = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, prompt: text, max_tokens: 2 }),
  });
  expect(response.status).toBe(200);
  await response.text();
}

function linesOf(report: DoctorReport, status?: DoctorFinding['status']): string[] {
  return report.findings
    .filter((item) => status === undefined || item.status === status)
    .map((item) => `${item.check}: ${item.message}`);
}

describe('runDoctor against simulated pods', () => {
  it('finds nothing wrong in a healthy setup: pod, KV events, index and EPP', async () => {
    const pod = await startPod();
    const index = await startKvIndexServer({
      httpPort: 0,
      blockSize: 4,
      engineHashAlgo: 'sha256_cbor',
      engineHashSeed: '42',
      podEventEndpoints: [pod.kvEvents],
    });
    closers.push(() => index.close());
    const epp = await startEppServer({
      grpcPort: 0,
      grpcHealthPort: 0,
      metricsPort: 0,
      host: '127.0.0.1',
      secureServing: 'false',
      endpoints: pod.key,
    });
    closers.push(() => epp.close());
    await complete(pod.sim.url);
    // The index dials the pod on its own schedule: wait until it holds the request's blocks.
    await expect
      .poll(
        async () => {
          const listing = (await (await fetch(`${index.service.httpUrl}/v1/endpoints`)).json()) as {
            endpoints: Array<{ endpoint: string; blocks: Record<string, number> }>;
          };
          return listing.endpoints.find((entry) => entry.endpoint === pod.key)?.blocks.gpu ?? 0;
        },
        { timeout: 10_000 },
      )
      .toBeGreaterThan(0);

    const report = await runDoctor({
      endpoints: [pod.key],
      kvEvents: [pod.kvEvents],
      indexUrl: index.service.httpUrl,
      eppMetricsUrl: `http://127.0.0.1:${epp.metricsPort}/metrics`,
      blockSize: 4,
      hashAlgo: 'sha256_cbor',
      hashSeed: '42',
      listenMilliseconds: 500,
    });
    expect(linesOf(report, 'warn')).toEqual([]);
    expect(linesOf(report, 'fail')).toEqual([]);
    const checks = new Set(report.findings.map((item) => item.check));
    expect([...checks].sort()).toEqual(
      [
        'block-hashes',
        'block-size',
        'endpoints',
        'epp',
        'index',
        'kv-event-topics',
        'kv-events',
        'metric-names',
      ].sort(),
    );
    expect(linesOf(report)).toContain(
      `block-hashes: ${pod.key} hashes blocks with sha256_cbor with seed "42", as the index expects`,
    );
    expect(linesOf(report)).toContain(`kv-event-topics: ${pod.key} publishes under "kv@${pod.key}@${model}"`);
    expect(linesOf(report)).toContain('epp: the EPP sees 1 ready endpoint(s)');
  }, 30_000);

  it('names an endpoint and a KV-event socket nothing listens on', async () => {
    const closedPort = await freePort();
    const closedEventsPort = await freePort();
    const key = `127.0.0.1:${closedPort}`;
    const report = await runDoctor({
      endpoints: [key],
      kvEvents: [`${key}=tcp://127.0.0.1:${closedEventsPort}`],
      listenMilliseconds: 0,
    });
    expect(linesOf(report, 'fail')).toEqual([
      `endpoints: ${key} is unreachable: connection refused (nothing listens on that port)`,
      expect.stringMatching(
        new RegExp(
          `^kv-events: ${key}: nothing accepts connections at tcp://127\\.0\\.0\\.1:${closedEventsPort} \\(connection refused`,
        ),
      ),
    ]);
    expect(report.counts).toEqual({ ok: 0, warn: 0, fail: 2 });
  });

  it("detects a pod whose hash seed differs from the index's, naming both seeds", async () => {
    const pod = await startPod({ hashSeed: '0' });
    await complete(pod.sim.url);
    const report = await runDoctor({
      endpoints: [pod.key],
      kvEvents: [pod.kvEvents],
      hashAlgo: 'sha256_cbor',
      hashSeed: '42',
      listenMilliseconds: 500,
    });
    const failures = linesOf(report, 'fail');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(
      new RegExp(
        `^block-hashes: ${pod.key} hashes blocks with sha256_cbor with seed "0", but the index expects sha256_cbor with seed "42": .*set PYTHONHASHSEED=42 on the engine`,
      ),
    );
  }, 20_000);

  it('detects an algorithm mismatch, and says when no common seed matches (PYTHONHASHSEED unset)', async () => {
    const xxhashPod = await startPod({ prefixCachingHashAlgo: 'xxhash_cbor', hashSeed: '1234' });
    // No hash seed: like vLLM without PYTHONHASHSEED, a random one per process.
    const randomPod = await startPod({ hashSeed: undefined });
    await complete(xxhashPod.sim.url);
    await complete(randomPod.sim.url);
    const report = await runDoctor({
      kvEvents: [xxhashPod.kvEvents, randomPod.kvEvents],
      hashAlgo: 'sha256_cbor',
      hashSeed: '1234',
      listenMilliseconds: 500,
    });
    const failures = linesOf(report, 'fail');
    expect(failures).toContainEqual(
      expect.stringMatching(
        `^block-hashes: ${xxhashPod.key} hashes blocks with xxhash_cbor with seed "1234", but the index expects sha256_cbor with seed "1234": .*--prefix-caching-hash-algo sha256_cbor`,
      ),
    );
    expect(failures).toContainEqual(
      expect.stringMatching(
        `^block-hashes: ${randomPod.key}'s block hashes match neither sha256_cbor with seed "1234" nor any algorithm with a common seed .*without PYTHONHASHSEED`,
      ),
    );
  }, 20_000);

  it("detects engine blocks the index's block size does not divide", async () => {
    const pod = await startPod({ blockSize: 8 });
    await complete(pod.sim.url);
    const report = await runDoctor({
      endpoints: [pod.key],
      kvEvents: [pod.kvEvents],
      blockSize: 16,
      listenMilliseconds: 500,
    });
    expect(linesOf(report, 'fail')).toEqual([
      expect.stringMatching(
        `^block-size: ${pod.key} publishes 8-token blocks but the index uses 16-token blocks: 8 is not a multiple of 16, so the index drops every event from it`,
      ),
    ]);
    // Without events the engine's metrics tell the same story.
    const fromMetrics = await runDoctor({ endpoints: [pod.key], blockSize: 16, listenMilliseconds: 0 });
    expect(linesOf(fromMetrics, 'fail')).toEqual([
      expect.stringMatching(
        `^block-size: ${pod.key} reports \\(in its metrics\\) 8-token blocks but the index uses 16`,
      ),
    ]);
  }, 20_000);

  it('reports a topic the index drops', async () => {
    const pod = await startPod({}, { topic: 'wrong' });
    await complete(pod.sim.url);
    const report = await runDoctor({ kvEvents: [pod.kvEvents], listenMilliseconds: 500 });
    expect(linesOf(report, 'fail')).toEqual([
      `kv-event-topics: ${pod.key} publishes under topic "wrong", which the index drops (it subscribes to "kv@"): set "topic": "kv@${pod.key}@${model}" in its --kv-events-config`,
    ]);
  }, 20_000);

  it('reports an index that stays empty while the pod serves traffic', async () => {
    const pod = await startPod();
    // The index dials a port where the pod does not publish: the wrong socket port.
    const wrongPort = await freePort();
    const index = await startKvIndexServer({
      httpPort: 0,
      blockSize: 4,
      podEventEndpoints: [`${pod.key}=tcp://127.0.0.1:${wrongPort}`],
    });
    closers.push(() => index.close());
    let stopped = false;
    const traffic = (async () => {
      for (let round = 0; !stopped; round++) {
        await complete(pod.sim.url, `${prompt} round ${round}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    try {
      const report = await runDoctor({
        endpoints: [pod.key],
        indexUrl: index.service.httpUrl,
        listenMilliseconds: 1_000,
      });
      expect(linesOf(report, 'fail')).toEqual([
        expect.stringMatching(
          new RegExp(
            `^index: index empty while traffic flows: ${pod.key} took in \\d+ prompt tokens during the check, but the index holds no blocks for it; likely causes: KV events are off`,
          ),
        ),
      ]);
    } finally {
      stopped = true;
      await traffic;
    }
  }, 20_000);
});

describe('runDoctor against a server with missing metric names', () => {
  // The simulator always serves every metric name, so a plain HTTP server stands in for a model
  // server whose exposition lacks some (an old vLLM, or a custom engine).
  async function startTrimmedServer(exposition: string): Promise<string> {
    const server: Server = createHttpServer((request, response) => {
      if (request.url === '/health') return void response.writeHead(200).end();
      if (request.url === '/v1/models') {
        response.writeHead(200, { 'content-type': 'application/json' });
        return void response.end(JSON.stringify({ object: 'list', data: [{ id: model, object: 'model' }] }));
      }
      if (request.url === '/metrics') {
        response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        return void response.end(exposition);
      }
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    return `127.0.0.1:${(server.address() as { port: number }).port}`;
  }

  it('names each missing metric and what it breaks; the old KV-usage name is a warning', async () => {
    const key = await startTrimmedServer(
      [
        '# TYPE vllm:num_requests_running gauge',
        `vllm:num_requests_running{model_name="${model}"} 0`,
        '# TYPE vllm:gpu_cache_usage_perc gauge',
        `vllm:gpu_cache_usage_perc{model_name="${model}"} 0.25`,
        '',
      ].join('\n'),
    );
    const report = await runDoctor({ endpoints: [key], listenMilliseconds: 0 });
    expect(linesOf(report)).toEqual([
      `endpoints: ${key} is up and serves "${model}"`,
      `metric-names: ${key} does not expose vllm:num_requests_waiting: the queue scorer and the saturation detector will see 0 waiting requests on it`,
      `metric-names: ${key} exposes only the old name vllm:gpu_cache_usage_perc: the EPP reads vllm:kv_cache_usage_perc, so the KV-cache-utilization scorer will see 0% on it and saturation detection cannot tell when it is full; upgrade vLLM or set kvUsageSpec: vllm:gpu_cache_usage_perc in the EPP's engineConfigs`,
      `metric-names: ${key} does not expose vllm:cache_config_info: the EPP cannot learn its block size and block count, so prefix-cache estimates use defaults`,
    ]);
  });

  it('recognises another engine by its metric names', async () => {
    const key = await startTrimmedServer(
      'sglang:num_queue_reqs 0\nsglang:num_running_reqs 1\nsglang:token_usage 0.5\n',
    );
    const vllm = await runDoctor({ endpoints: [key], listenMilliseconds: 0 });
    expect(linesOf(vllm, 'fail')).toContain(
      `metric-names: ${key} looks like sglang, not vllm: label its pods llm-d.ai/engine-type=sglang so the EPP reads the right names (and run the doctor with --engine-type sglang)`,
    );
    const sglang = await runDoctor({ endpoints: [key], engineType: 'sglang', listenMilliseconds: 0 });
    expect(linesOf(sglang, 'fail')).toEqual([
      `metric-names: ${key} does not expose sglang:cache_config_info: the EPP cannot learn its block size and block count, so prefix-cache estimates use defaults`,
    ]);
  });
});

describe('runDoctor options', () => {
  it('refuses input it cannot use, naming the field', async () => {
    await expect(runDoctor({})).rejects.toThrow(/nothing to check/);
    await expect(runDoctor({ endpoints: ['nonsense'] })).rejects.toThrow(/"nonsense" is not ip:port/);
    await expect(runDoctor({ kvEvents: ['10.0.0.1:8000=tcp://*:5557'] })).rejects.toThrow(
      /bind address: give the engine's own address, e.g. tcp:\/\/10\.0\.0\.7:5557/,
    );
    await expect(runDoctor({ indexUrl: 'ftp://index' })).rejects.toThrow(/not an http/);
    await expect(runDoctor({ endpoints: ['10.0.0.1:8000'], engineType: 'tgi' })).rejects.toThrow(
      /unknown engine type "tgi"/,
    );
  });
});
