/**
 * Metrics scraping cost (`node --conditions=@llmd/source --import tsx bench/scrape-bench.ts` in
 * packages/epp; options `--endpoints 100 --seconds 10 --interval 50`).
 *
 * llm-d reports ~7.5 CPU cores for 50 ms polling of 100 pods. This bench runs the MetricsCollector at
 * the same settings against 100 HTTP endpoints serving a realistic vLLM /metrics body (captured from
 * the simulator after it served some requests, so its histograms are populated) and reports the CPU
 * this process spends, in cores per 100 endpoints.
 *
 * The endpoints run in a child process (this same file with `--serve`), so their cost is not in the
 * measurement; the parent's idle CPU, measured first, is subtracted.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { createEndpoint } from '@llmd/core';
import { startSimServer } from '@llmd/sim';
import { Datastore } from '../src/datalayer/datastore.js';
import { MetricsCollector } from '../src/datalayer/metrics-collector.js';

interface ServeRequest {
  readonly body: string;
  readonly count: number;
}
type ChildMessage = { kind: 'ports'; ports: number[] } | { kind: 'cpu'; microseconds: number };

const { values } = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    endpoints: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '10' },
    interval: { type: 'string', default: '50' },
  },
});

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

function cpuMicroseconds(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** Child role: serve the body on `count` ports until told to stop. */
async function serve(): Promise<void> {
  const servers: Server[] = [];
  process.on('message', async (message: ServeRequest | 'cpu' | 'stop') => {
    if (message === 'cpu') {
      process.send?.({ kind: 'cpu', microseconds: cpuMicroseconds() } satisfies ChildMessage);
      return;
    }
    if (message === 'stop') {
      for (const server of servers) server.closeAllConnections();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
      process.exit(0);
    }
    const body = Buffer.from(message.body);
    const ports: number[] = [];
    for (let index = 0; index < message.count; index++) {
      const server = createServer((_request, response) => {
        response.writeHead(200, {
          'content-type': 'text/plain; version=0.0.4; charset=utf-8',
          'content-length': body.length,
        });
        response.end(body);
      });
      server.keepAliveTimeout = 60_000;
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
      ports.push((server.address() as AddressInfo).port);
    }
    process.send?.({ kind: 'ports', ports } satisfies ChildMessage);
  });
}

/** A vLLM /metrics body as the simulator renders it after serving a few requests. */
async function captureVllmMetricsBody(): Promise<string> {
  const sim = await startSimServer({ port: 0, model: 'Qwen/Qwen3-32B', timeScale: 100, maxNumSeqs: 8 });
  try {
    await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        fetch(`${sim.url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'Qwen/Qwen3-32B',
            prompt: `benchmark prompt number ${index} `.repeat(20),
            max_tokens: 20,
          }),
        }).then((response) => response.text()),
      ),
    );
    return await (await fetch(`${sim.url}/metrics`)).text();
  } finally {
    await sim.close(0);
  }
}

function waitForMessage<Kind extends ChildMessage['kind']>(
  child: ChildProcess,
  kind: Kind,
): Promise<Extract<ChildMessage, { kind: Kind }>> {
  return new Promise((resolve) => {
    const listener = (message: ChildMessage) => {
      if (message.kind !== kind) return;
      child.off('message', listener);
      resolve(message as Extract<ChildMessage, { kind: Kind }>);
    };
    child.on('message', listener);
  });
}

async function main(): Promise<void> {
  const endpointCount = Number(values.endpoints);
  const seconds = Number(values.seconds);
  const intervalMilliseconds = Number(values.interval);
  const body = await captureVllmMetricsBody();
  const bodyLines = body.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;

  const child = fork(new URL(import.meta.url).pathname, ['--serve'], { execArgv: process.execArgv });
  try {
    const portsMessage = waitForMessage(child, 'ports');
    child.send({ body, count: endpointCount } satisfies ServeRequest);
    const { ports } = await portsMessage;

    // This process idle (timers of the runtime, nothing else), to subtract.
    const idleStartCpu = cpuMicroseconds();
    const idleStart = performance.now();
    await sleep(1000);
    const idleCores = (cpuMicroseconds() - idleStartCpu) / ((performance.now() - idleStart) * 1000);

    const datastore = new Datastore();
    datastore.replaceAll(
      ports.map((port, index) => createEndpoint({ address: '127.0.0.1', port, name: `vllm-${index}` })),
    );
    const collector = new MetricsCollector({ datastore, refreshIntervalMilliseconds: intervalMilliseconds });
    await collector.start();
    await sleep(1000); // connections open, JIT warm

    const before = collector.stats();
    const childCpuBefore = waitForMessage(child, 'cpu');
    child.send('cpu');
    const childStart = (await childCpuBefore).microseconds;
    const startCpu = cpuMicroseconds();
    const start = performance.now();
    await sleep(seconds * 1000);
    const cpu = cpuMicroseconds() - startCpu;
    const wallMicroseconds = (performance.now() - start) * 1000;
    const childCpuAfter = waitForMessage(child, 'cpu');
    child.send('cpu');
    const childCpu = (await childCpuAfter).microseconds - childStart;
    const after = collector.stats();
    await collector.stop();

    const polls = after.successes - before.successes;
    const failures = after.failures - before.failures;
    const collectorCores = Math.max(0, cpu / wallMicroseconds - idleCores);
    const coresPer100 = (collectorCores * 100) / endpointCount;
    const pollsPerSecond = polls / (wallMicroseconds / 1e6);
    const stale = datastore.snapshot().filter((state) => Date.now() - state.metrics.updateTime > 200).length;

    console.log(
      `scrape bench: ${endpointCount} endpoints in a child process, ${intervalMilliseconds} ms interval, ${seconds} s, vLLM body ${body.length} bytes / ${bodyLines} samples (simulator), ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, Node ${process.version}`,
    );
    console.log(
      '| endpoints | interval | polls/s | failures | collector CPU (cores) | cores per 100 endpoints | CPU per poll | endpoint servers CPU (cores, excluded) | stale (>200 ms) at end | llm-d reference |',
    );
    console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    console.log(
      `| ${endpointCount} | ${intervalMilliseconds} ms | ${pollsPerSecond.toFixed(0)} | ${failures} | ${collectorCores.toFixed(3)} | ${coresPer100.toFixed(3)} | ${((collectorCores * wallMicroseconds) / Math.max(1, polls)).toFixed(1)} µs | ${(childCpu / wallMicroseconds).toFixed(3)} | ${stale} | ~7.5 cores per 100 pods |`,
    );
  } finally {
    child.send('stop');
  }
}

if (values.serve) await serve();
else await main();
