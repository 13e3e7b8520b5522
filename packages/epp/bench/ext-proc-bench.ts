/**
 * ext_proc overhead on loopback, plaintext (`node --conditions=@llmd/source --import tsx
 * bench/ext-proc-bench.ts` in packages/epp; options `--latency-seconds 4 --throughput-seconds 10
 * --endpoints 10`, `--quick` for a smoke run).
 *
 * The EPP's ext_proc server runs in this process with (i) a trivial pipeline (one fixed target, body
 * and response passed through) and (ii) the real EndpointPickerPipeline (`createEndpointPicker`
 * with llm-d's default config, StaticDiscovery of fake endpoints whose metrics are set every 50 ms
 * instead of scraped). A child process (this file with `--client`) plays Envoy with the
 * FULL_DUPLEX_STREAMED test client from src/server/testing, so its CPU is not in the measurement.
 *
 * 1. Round trip per stream: request headers + a small chat JSON body → header response + streamed
 *    body; then response headers + a JSON body + trailers → their replies; half-close → OK status.
 *    Concurrency 1 and 16.
 * 2. Throughput with ~200 KB chat bodies (150 KB shared system prompts from a set of 20 + a unique
 *    50 KB user turn), 16 KiB body chunks as Envoy sends them, minimal response phase (headers + one
 *    small body chunk), concurrency 32. llm-d's EPP plateaus near 130 req/s there.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import type { EndpointKey } from '@llmd/core';
import { StaticDiscovery } from '../src/datalayer/static-discovery.js';
import { createEndpointPicker, type EndpointPicker } from '../src/endpoint-picker.js';
import type { RequestOutcome, RequestPipeline } from '../src/pipeline/request-outcome.js';
import { type ExtProcServer, startExtProcServer } from '../src/server/start-ext-proc-server.js';
import { createExtProcTestClient } from '../src/server/testing/index.js';

const { values } = parseArgs({
  options: {
    client: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    'latency-seconds': { type: 'string' },
    'throughput-seconds': { type: 'string' },
    endpoints: { type: 'string', default: '10' },
    /** Subsets, for profiling one case with --cpu-prof: `trivial`, `real`; `latency`, `throughput`. */
    pipelines: { type: 'string', default: 'trivial,real' },
    scenarios: { type: 'string', default: 'latency,throughput' },
  },
});

const model = 'Qwen/Qwen3-32B';

interface LoadScenario {
  readonly address: string;
  readonly concurrency: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  /** `small`: a short chat request; `large`: ~200 KB chat bodies. */
  readonly body: 'small' | 'large';
  /** `full`: headers + body + trailers; `minimal`: headers + one body chunk. */
  readonly response: 'full' | 'minimal';
}

interface LoadResult {
  readonly streams: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
  readonly clientCores: number;
  readonly requestBytes: number;
}

type ClientMessage =
  | { kind: 'ready' }
  | { kind: 'measuring' }
  | { kind: 'result'; result: LoadResult }
  | { kind: 'failed'; message: string };

function percentile(sorted: ReadonlyArray<number>, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank] as number;
}

function cpuMicroseconds(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** JSON-safe English-like text (no quotes, backslashes or newlines). */
function englishText(characters: number, seed: number): string {
  const words = (
    'the of and to in is that for it as with was on be by this are or an at from which have not ' +
    'model cache prefix request token engine schedule latency endpoint scheduler routing memory ' +
    'block server context prompt response stream batch queue weight score kernel tensor layer'
  ).split(' ');
  let state = seed >>> 0;
  const parts: string[] = [];
  let length = 0;
  while (length < characters) {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    const word = words[state % words.length] as string;
    parts.push(word);
    length += word.length + 1;
  }
  return parts.join(' ').slice(0, characters);
}

/** Request bodies: small chats, or 200 KB chats sharing one of 20 system prompts. */
function createBodySource(kind: LoadScenario['body']): () => Buffer {
  let sequence = 0;
  if (kind === 'small') {
    return () => {
      sequence += 1;
      return Buffer.from(
        JSON.stringify({
          model,
          messages: [
            { role: 'user', content: `Hello! Summarise prefix caching in one line. (#${sequence})` },
          ],
          max_tokens: 16,
        }),
      );
    };
  }
  const heads = Array.from({ length: 20 }, (_, index) =>
    Buffer.from(
      `{"model":"${model}","max_tokens":16,"messages":[{"role":"system","content":"${englishText(150_000, index + 1)}"},{"role":"user","content":"`,
    ),
  );
  const userText = englishText(200_000, 99);
  const tail = Buffer.from('"}]}');
  return () => {
    sequence += 1;
    const offset = (sequence * 7919) % (userText.length - 50_000);
    const user = Buffer.from(`request ${sequence}: ${userText.slice(offset, offset + 50_000)}`);
    return Buffer.concat([heads[sequence % heads.length] as Buffer, user, tail]);
  };
}

const responseBody = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Reuse of cached KV blocks.' },
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 20, completion_tokens: 7, total_tokens: 27 },
  }),
);

/** Child role: drive the EPP like Envoy, report latencies and this process's CPU. */
async function runLoad(
  scenario: LoadScenario,
  notify: (message: ClientMessage) => void,
): Promise<LoadResult> {
  const client = createExtProcTestClient({ address: scenario.address, timeoutMilliseconds: 30_000 });
  const nextBody = createBodySource(scenario.body);
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let streams = 0;
  let requestBytes = 0;
  let measuring = false;
  const begin = performance.now();
  const measureFrom = begin + scenario.warmupSeconds * 1000;
  const end = measureFrom + scenario.seconds * 1000;
  let cpuAtStart = 0;
  let measureStarted = 0;
  const startMeasuring = () => {
    if (measuring) return;
    measuring = true;
    cpuAtStart = cpuMicroseconds();
    measureStarted = performance.now();
    notify({ kind: 'measuring' });
  };

  const worker = async () => {
    while (performance.now() < end) {
      if (!measuring && performance.now() >= measureFrom) startMeasuring();
      const counted = measuring;
      const body = nextBody();
      const started = performance.now();
      const stream = client.openStream();
      try {
        const request = await stream.sendRequest({
          path: '/v1/chat/completions',
          headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
          body,
        });
        if (request.kind !== 'routed') throw new Error(`not routed: ${request.status} ${request.body}`);
        await stream.sendResponse({
          status: 200,
          headers: { 'content-type': 'application/json' },
          ...(request.destination ? { servedEndpoint: request.destination } : {}),
          chunks: [responseBody],
          ...(scenario.response === 'full' ? { trailers: { 'x-upstream-trailer': 'done' } } : {}),
        });
        stream.end();
        const status = await stream.status;
        if (status.code !== 0) throw new Error(`stream status ${status.code}: ${status.details}`);
        if (counted && performance.now() <= end) {
          latencies.push(performance.now() - started);
          streams += 1;
          requestBytes += body.length;
        }
      } catch (error) {
        stream.cancel();
        if (counted) errors += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: scenario.concurrency }, worker));
  startMeasuring();
  const wallMilliseconds = Math.max(performance.now(), end) - measureStarted;
  const clientCores = (cpuMicroseconds() - cpuAtStart) / (wallMilliseconds * 1000);
  client.close();
  latencies.sort((left, right) => left - right);
  return {
    streams,
    errors,
    firstError,
    seconds: wallMilliseconds / 1000,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    clientCores,
    requestBytes,
  };
}

function clientRole(): void {
  const send = (message: ClientMessage) => process.send?.(message);
  process.on('message', (message: LoadScenario | 'stop') => {
    if (message === 'stop') process.exit(0);
    runLoad(message, send).then(
      (result) => send({ kind: 'result', result }),
      (error: unknown) =>
        send({ kind: 'failed', message: error instanceof Error ? error.message : String(error) }),
    );
  });
  send({ kind: 'ready' });
}

/** (i) Everything routed to one fixed endpoint, body and response untouched. */
function createFixedTargetPipeline(target: EndpointKey): RequestPipeline {
  let sequence = 0;
  const passThrough = {
    responseHeaders: () => ({}),
    responseChunk: (chunk: Uint8Array) => chunk,
    complete: () => {},
  };
  return {
    async handle(request): Promise<RequestOutcome> {
      sequence += 1;
      return {
        kind: 'route',
        requestId: request.headers['x-request-id'] ?? `bench-${sequence}`,
        targets: [target],
        headersToSet: {},
        headersToRemove: [],
        body: request.body,
        endpointScores: {},
        exchange: passThrough,
      };
    },
  };
}

/** (ii) The real Endpoint Picker on fake endpoints; metrics change every 50 ms as scrapes would. */
async function startRealPicker(
  endpointCount: number,
): Promise<{ picker: EndpointPicker; stop: () => Promise<void> }> {
  const keys = Array.from({ length: endpointCount }, (_, index) => `10.2.0.${index + 1}:8000`);
  const picker = await createEndpointPicker({
    discovery: new StaticDiscovery({ endpoints: keys }),
    scrapeMetrics: false,
  });
  await picker.start();
  let state = 7;
  const random = () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 4294967296;
  };
  const refresh = () => {
    for (const key of keys) {
      picker.datastore.updateMetrics(key, {
        waitingQueueSize: Math.floor(random() * 6),
        runningRequestsSize: Math.floor(random() * 48),
        kvCacheUsagePercent: 0.1 + random() * 0.8,
        activeModels: [],
        waitingModels: [],
        maxActiveModels: 0,
        cacheBlockSize: 16,
        cacheNumBlocks: 32_768,
        updateTime: Date.now(),
      });
    }
  };
  refresh();
  const timer = setInterval(refresh, 50);
  return {
    picker,
    stop: async () => {
      clearInterval(timer);
      await picker.close();
    },
  };
}

function waitFor<Kind extends ClientMessage['kind']>(
  child: ChildProcess,
  kind: Kind,
): Promise<Extract<ClientMessage, { kind: Kind }>> {
  return new Promise((resolve, reject) => {
    const listener = (message: ClientMessage) => {
      if (message.kind === 'failed') {
        child.off('message', listener);
        reject(new Error(`load client failed: ${message.message}`));
        return;
      }
      if (message.kind !== kind) return;
      child.off('message', listener);
      resolve(message as Extract<ClientMessage, { kind: Kind }>);
    };
    child.on('message', listener);
  });
}

interface Measured {
  readonly pipeline: string;
  readonly scenario: LoadScenario;
  readonly result: LoadResult;
  readonly serverCores: number;
}

async function measure(child: ChildProcess, pipeline: string, scenario: LoadScenario): Promise<Measured> {
  const measuring = waitFor(child, 'measuring');
  const done = waitFor(child, 'result');
  child.send(scenario);
  await measuring;
  const cpuStart = cpuMicroseconds();
  const wallStart = performance.now();
  const { result } = await done;
  // The client reports after its last stream; the server's CPU up to now is the window's.
  const serverCores = (cpuMicroseconds() - cpuStart) / ((performance.now() - wallStart) * 1000);
  return { pipeline, scenario, result, serverCores };
}

async function withServer<T>(pipeline: RequestPipeline, run: (address: string) => Promise<T>): Promise<T> {
  const server: ExtProcServer = await startExtProcServer({
    pipeline,
    port: 0,
    healthPort: false,
    host: '127.0.0.1',
    secureServing: false,
    shutdownTimeoutMilliseconds: 1_000,
  });
  try {
    return await run(`127.0.0.1:${server.port}`);
  } finally {
    await server.close();
  }
}

function format(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

async function main(): Promise<void> {
  const quick = values.quick;
  const latencySeconds = Number(values['latency-seconds'] ?? (quick ? 1 : 4));
  const throughputSeconds = Number(values['throughput-seconds'] ?? (quick ? 2 : 10));
  const warmupSeconds = quick ? 0.5 : 1.5;
  const endpointCount = Number(values.endpoints);
  const child = fork(new URL(import.meta.url).pathname, ['--client'], { execArgv: process.execArgv });
  const measured: Measured[] = [];
  try {
    await waitFor(child, 'ready');
    const selectedPipelines = values.pipelines.split(',');
    const selectedScenarios = values.scenarios.split(',');
    const pipelines: Array<{
      key: string;
      name: string;
      start: () => Promise<{ pipeline: RequestPipeline; stop: () => Promise<void> }>;
    }> = [
      {
        key: 'trivial',
        name: 'trivial (fixed target)',
        start: async () => ({
          pipeline: createFixedTargetPipeline('10.2.0.1:8000' as EndpointKey),
          stop: async () => {},
        }),
      },
      {
        key: 'real',
        name: `EndpointPickerPipeline (default config, ${endpointCount} endpoints)`,
        start: async () => {
          const { picker, stop } = await startRealPicker(endpointCount);
          return { pipeline: picker.pipeline, stop };
        },
      },
    ];
    for (const entry of pipelines) {
      if (!selectedPipelines.includes(entry.key)) continue;
      const { pipeline, stop } = await entry.start();
      try {
        await withServer(pipeline, async (address) => {
          for (const concurrency of selectedScenarios.includes('latency') ? [1, 16] : []) {
            const result = await measure(child, entry.name, {
              address,
              concurrency,
              warmupSeconds,
              seconds: latencySeconds,
              body: 'small',
              response: 'full',
            });
            measured.push(result);
            console.error(`  ${entry.name} c=${concurrency}: p50 ${format(result.result.p50, 3)} ms`);
          }
          if (!selectedScenarios.includes('throughput')) return;
          const result = await measure(child, entry.name, {
            address,
            concurrency: 32,
            warmupSeconds,
            seconds: throughputSeconds,
            body: 'large',
            response: 'minimal',
          });
          measured.push(result);
          console.error(
            `  ${entry.name} 200 KB c=32: ${format(result.result.streams / result.result.seconds, 0)} req/s`,
          );
        });
      } finally {
        await stop();
      }
    }
  } finally {
    child.send('stop');
  }

  console.log(
    `ext_proc bench: loopback plaintext gRPC, client in a child process (src/server/testing test client, FULL_DUPLEX_STREAMED), ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, Node ${process.version}`,
  );
  console.log('');
  console.log(
    `Round trip per stream (request headers + ~135 B chat body → header + body replies; response headers + ${responseBody.length} B body + trailers → replies; half-close → OK), ${latencySeconds} s per row after ${warmupSeconds} s warm-up:`,
  );
  console.log('');
  console.log(
    '| pipeline | concurrency | streams/s | p50 ms | p99 ms | errors | EPP CPU (cores) | EPP CPU per stream | client CPU (cores) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const { pipeline, scenario, result, serverCores } of measured) {
    if (scenario.body !== 'small') continue;
    const rate = result.streams / result.seconds;
    console.log(
      `| ${pipeline} | ${scenario.concurrency} | ${format(rate, 0)} | ${format(result.p50, 3)} | ${format(result.p99, 3)} | ${result.errors} | ${format(serverCores)} | ${format((serverCores * 1000) / Math.max(rate, 1e-9), 3)} ms | ${format(result.clientCores)} |`,
    );
  }
  console.log('');
  console.log(
    `Throughput with ~200 KB chat bodies (16 KiB chunks, re-sent to Envoy as streamed body), minimal response phase, concurrency 32, ${throughputSeconds} s after ${warmupSeconds} s warm-up (llm-d: plateau near 130 req/s):`,
  );
  console.log('');
  console.log(
    '| pipeline | req/s | MB/s in | p50 ms | p99 ms | errors | EPP CPU (cores) | EPP CPU per request | client CPU (cores) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const { pipeline, scenario, result, serverCores } of measured) {
    if (scenario.body !== 'large') continue;
    const rate = result.streams / result.seconds;
    console.log(
      `| ${pipeline} | ${format(rate, 0)} | ${format(result.requestBytes / result.seconds / 1e6, 1)} | ${format(result.p50, 1)} | ${format(result.p99, 1)} | ${result.errors} | ${format(serverCores)} | ${format((serverCores * 1000) / Math.max(rate, 1e-9), 2)} ms | ${format(result.clientCores)} |`,
    );
  }
  const failures = measured.filter((entry) => entry.result.firstError !== undefined);
  for (const entry of failures) console.log(`\nfirst error (${entry.pipeline}): ${entry.result.firstError}`);
}

if (values.client) clientRole();
else await main();
