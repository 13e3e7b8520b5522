/**
 * Simulator benchmarks (`pnpm bench`, or `node --conditions=@llmd/source --import tsx bench/sim-bench.ts`
 * in packages/sim):
 * 1. Fidelity under load: 16 simulated pods x 64 concurrent streams in this process; the load runs on
 *    a worker thread. Measured TTFT and ITL (client side) against the configured model.
 * 2. Raw capacity: streamed output tokens/s and short-completion requests/s one process serves.
 */
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { startSimCluster } from '../src/index.js';
import type { RequestRecord } from './load-client.js';

const loadClientUrl = new URL('./load-client.ts', import.meta.url);

function runLoad(
  workerData: Record<string, unknown>,
): Promise<{ records: RequestRecord[]; seconds: number }> {
  return new Promise((resolve, reject) => {
    // Workers do not inherit tsx's loader: register it in the worker before importing the TypeScript client.
    const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(loadClientUrl.href)}); })`;
    const worker = new Worker(bootstrap, { eval: true, workerData });
    worker.once('message', (result) => {
      void worker.terminate();
      resolve(result as { records: RequestRecord[]; seconds: number });
    });
    worker.once('error', reject);
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

const profile = { prefillOverhead: 100, prefillTimePerToken: 0.2, interTokenLatency: 25 };
const pods = 16;
const streamsPerPod = 64;

// 1. Fidelity.
{
  const cluster = await startSimCluster({
    replicas: pods,
    config: { model: 'sim', maxNumSeqs: streamsPerPod, numGpuBlocks: 16_384, mode: 'random', ...profile },
  });
  const { records, seconds } = await runLoad({
    endpoints: cluster.endpoints,
    concurrencyPerEndpoint: streamsPerPod,
    rampUpMilliseconds: 3000,
    requestsPerStream: 3,
    promptWords: 200,
    maxTokens: 100,
    stream: true,
  });
  await cluster.close();
  const ttftErrors = records.map((record) => {
    const expected = profile.prefillOverhead + record.promptTokens * profile.prefillTimePerToken;
    return Math.abs(record.timeToFirstTokenMilliseconds - expected) / expected;
  });
  const itlErrors = records.map(
    (record) =>
      Math.abs(record.meanInterTokenMilliseconds - profile.interTokenLatency) / profile.interTokenLatency,
  );
  const tokens = records.reduce((sum, record) => sum + record.completionTokens, 0);
  const expectedTtft = median(
    records.map((record) => profile.prefillOverhead + record.promptTokens * profile.prefillTimePerToken),
  );
  console.log(
    `sim fidelity: ${pods} pods x ${streamsPerPod} concurrent streams in one process, ${records.length} requests, ${(tokens / seconds).toFixed(0)} streamed tokens/s, ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, Node ${process.version}`,
  );
  console.log(`| metric | configured | measured median | measured p99 | median error | target |`);
  console.log(`|---|---:|---:|---:|---:|---|`);
  console.log(
    `| TTFT | ${expectedTtft.toFixed(1)} ms | ${median(records.map((record) => record.timeToFirstTokenMilliseconds)).toFixed(1)} ms | ${percentile(
      records.map((record) => record.timeToFirstTokenMilliseconds),
      0.99,
    ).toFixed(
      1,
    )} ms | ${(median(ttftErrors) * 100).toFixed(2)}% | <= 5%: ${median(ttftErrors) <= 0.05 ? 'met' : 'MISSED'} |`,
  );
  console.log(
    `| ITL | ${profile.interTokenLatency.toFixed(1)} ms | ${median(records.map((record) => record.meanInterTokenMilliseconds)).toFixed(2)} ms | ${percentile(
      records.map((record) => record.meanInterTokenMilliseconds),
      0.99,
    ).toFixed(
      2,
    )} ms | ${(median(itlErrors) * 100).toFixed(2)}% | <= 5%: ${median(itlErrors) <= 0.05 ? 'met' : 'MISSED'} |`,
  );
}

// 2. Raw capacity: no simulated latency, so the process itself is the bottleneck.
{
  const cluster = await startSimCluster({
    replicas: 4,
    config: {
      model: 'sim',
      maxNumSeqs: 256,
      mode: 'random',
      prefillOverhead: 0,
      prefillTimePerToken: 0,
      interTokenLatency: 0,
    },
  });
  const streamed = await runLoad({
    endpoints: cluster.endpoints,
    rampUpMilliseconds: 0,
    concurrencyPerEndpoint: 64,
    requestsPerStream: 4,
    promptWords: 20,
    maxTokens: 500,
    stream: true,
  });
  const streamedTokens = streamed.records.reduce((sum, record) => sum + record.completionTokens, 0);
  const short = await runLoad({
    endpoints: cluster.endpoints,
    rampUpMilliseconds: 0,
    concurrencyPerEndpoint: 16,
    requestsPerStream: 250,
    promptWords: 20,
    maxTokens: 1,
    stream: false,
  });
  await cluster.close();
  console.log(
    `sim capacity (4 pods, zero simulated latency): ${(streamedTokens / streamed.seconds).toFixed(0)} streamed output tokens/s (256 streams x 500 tokens); ${(short.records.length / short.seconds).toFixed(0)} short completions/s (64 concurrent, max_tokens 1, non-streaming)`,
  );
}
