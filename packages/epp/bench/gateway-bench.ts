/**
 * Gateway overhead benchmark: the same simulated vLLM pods (in a child process) reached directly,
 * through the llmd gateway (in this process, with a pluggable pipeline), and through nginx
 * round-robin (1 worker, keep-alive upstream, no buffering). The load generator runs in a worker
 * thread so it does not share the gateway's event loop.
 *
 *   node --conditions=@llmd/source --import tsx bench/gateway-bench.ts [--pods 2] [--concurrency 64]
 *     [--stream-concurrency 32] [--stream-tokens 256] [--duration 5] [--warmup 1] [--time-scale 100]
 *     [--no-nginx] [--scheduler]
 *
 * Prints a Markdown table. nginx comes from the system (`apt-get install -y nginx`); without it
 * that row is skipped. "proxy CPU µs/req" is the user + system CPU time of the proxy (the gateway's
 * thread, nginx's processes) per short completion, read from /proc (Linux; "–" elsewhere): on a
 * small shared machine it moves far less with the neighbours' load than req/s does.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { EndpointKey } from '@llmd/core';
import { StaticDiscovery } from '../src/datalayer/static-discovery.js';
import { createEndpointPicker } from '../src/endpoint-picker.js';
import { startGateway } from '../src/gateway/index.js';
import type { RequestOutcome, RequestPipeline } from '../src/pipeline/request-outcome.js';
import type { LoadResult, LoadScenario } from './gateway-bench-load.js';

/** Builds the pipeline the gateway runs; swap in the real scheduler here. */
export type PipelineFactory = (
  endpoints: ReadonlyArray<string>,
) => RequestPipeline | Promise<RequestPipeline>;

/** The trivial pipeline: round-robin over the endpoints, body and response passed through untouched. */
export function createRoundRobinPipeline(endpoints: ReadonlyArray<string>): RequestPipeline {
  let next = 0;
  let sequence = 0;
  const passThrough = {
    responseHeaders: () => ({}),
    responseChunk: (chunk: Uint8Array) => chunk,
    complete: () => {},
  };
  return {
    async handle(request): Promise<RequestOutcome> {
      const target = endpoints[next++ % endpoints.length] as EndpointKey;
      return {
        kind: 'route',
        requestId: request.headers['x-request-id'] ?? `bench-${++sequence}`,
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

export interface GatewayBenchOptions {
  readonly pods: number;
  /** Concurrent short non-streaming completions. */
  readonly concurrency: number;
  readonly shortTokens: number;
  readonly streamConcurrency: number;
  readonly streamTokens: number;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  /** Simulator speed-up: the backend stays fast so proxy overhead dominates. */
  readonly timeScale: number;
  readonly nginx: boolean;
  readonly createPipeline?: PipelineFactory;
  readonly log?: (line: string) => void;
}

interface PathResult {
  readonly name: string;
  readonly short: LoadResult;
  readonly stream: LoadResult;
  /** CPU time the proxy spent per short completion (warm-up included), when it can be measured. */
  readonly cpuMicrosecondsPerShortRequest: number | undefined;
}

/** Returns the CPU seconds (user + system) a proxy has used so far; undefined where unmeasurable. */
type CpuProbe = () => number | undefined;

let clockTicksPerSecond: number | undefined;

/**
 * User + system CPU seconds of one process or thread, from its `/proc/…/stat` (Linux only). On a
 * small shared machine throughput swings with the neighbours' load; CPU per request does not.
 */
function procCpuSeconds(statPath: string): number | undefined {
  try {
    clockTicksPerSecond ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
    const text = readFileSync(statPath, 'utf8');
    // Fields after the parenthesised command name start at `state` (field 3 in proc(5)):
    // utime is field 14 and stime field 15.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / clockTicksPerSecond : undefined;
  } catch {
    return undefined;
  }
}

/** The gateway runs on this process's main thread (the load generator has its own thread). */
const mainThreadCpu: CpuProbe = () => procCpuSeconds(`/proc/self/task/${process.pid}/stat`);

/** nginx's master and its worker processes (children of the master). */
function processTreeCpu(rootPid: number): CpuProbe {
  return () => {
    let total = procCpuSeconds(`/proc/${rootPid}/stat`);
    if (total === undefined) return undefined;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const parent = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
        if (parent === rootPid) total += procCpuSeconds(`/proc/${entry}/stat`) ?? 0;
      } catch {
        // The process ended while the list was read.
      }
    }
    return total;
  };
}

function percentile(sorted: ReadonlyArray<number>, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank] as number;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function waitForPort(port: number, timeoutMilliseconds: number): Promise<void> {
  const deadline = Date.now() + timeoutMilliseconds;
  for (;;) {
    const open = await new Promise<boolean>((resolveOpen) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolveOpen(true);
      });
      socket.once('error', () => resolveOpen(false));
    });
    if (open) return;
    if (Date.now() > deadline)
      throw new Error(`nothing listens on port ${port} after ${timeoutMilliseconds} ms`);
    await new Promise((wait) => setTimeout(wait, 50));
  }
}

async function startSimChild(
  pods: number,
  timeScale: number,
): Promise<{ child: ChildProcess; endpoints: string[] }> {
  const script = fileURLToPath(new URL('./gateway-bench-sim.ts', import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, script, JSON.stringify({ pods, timeScale })], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const endpoints = await new Promise<string[]>((resolveEndpoints, reject) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline === -1) return;
      try {
        resolveEndpoints((JSON.parse(buffered.slice(0, newline)) as { endpoints: string[] }).endpoints);
      } catch (error) {
        reject(error);
      }
    });
    child.once('exit', (code) => reject(new Error(`simulator child exited with code ${code}`)));
  });
  return { child, endpoints };
}

function findNginx(): string | undefined {
  for (const candidate of ['nginx', '/usr/sbin/nginx']) {
    const probe = spawnSync(candidate, ['-v'], { stdio: 'ignore' });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}

async function startNginx(
  binary: string,
  endpoints: ReadonlyArray<string>,
  workFolder: string,
): Promise<{ process: ChildProcess; url: string }> {
  const port = await freePort();
  const folder = join(workFolder, 'nginx');
  await mkdir(folder, { recursive: true });
  const configuration = `
worker_processes 1;
daemon off;
pid ${folder}/nginx.pid;
error_log ${folder}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${folder}/client-body;
  proxy_temp_path ${folder}/proxy;
  fastcgi_temp_path ${folder}/fastcgi;
  uwsgi_temp_path ${folder}/uwsgi;
  scgi_temp_path ${folder}/scgi;
  upstream pods {
${endpoints.map((endpoint) => `    server ${endpoint};`).join('\n')}
    keepalive 256;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    client_max_body_size 16m;
    keepalive_requests 100000;
    location / {
      proxy_pass http://pods;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 300s;
    }
  }
}
`;
  const configurationPath = join(folder, 'nginx.conf');
  await writeFile(configurationPath, configuration);
  const child = spawn(binary, ['-p', folder, '-c', configurationPath, '-e', join(folder, 'error.log')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitForPort(port, 10_000);
  return { process: child, url: `http://127.0.0.1:${port}` };
}

function runLoad(scenario: LoadScenario): Promise<LoadResult> {
  return new Promise((resolveResult, reject) => {
    // Workers do not inherit tsx's `--import` hooks on Node 20: register them in the worker first.
    const entry = new URL('./gateway-bench-load.ts', import.meta.url).href;
    const tsxApi = import.meta.resolve('tsx/esm/api');
    const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
    const worker = new Worker(bootstrap, { eval: true, workerData: scenario });
    worker.once('message', (message: LoadResult | { failure: string }) => {
      void worker.terminate();
      if ('failure' in message) reject(new Error(message.failure));
      else resolveResult(message);
    });
    worker.once('error', reject);
  });
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    child.once('exit', () => resolveStop());
    child.kill(signal);
  });
}

function format(value: number, digits = 0): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

function renderTable(results: ReadonlyArray<PathResult>, options: GatewayBenchOptions): string {
  const direct = results[0] as PathResult;
  const seconds = options.durationSeconds;
  const shortRate = (result: PathResult) => result.short.requests / seconds;
  const tokenRate = (result: PathResult) => result.stream.tokens / seconds;
  const p50 = (result: PathResult) => percentile(result.short.latenciesMilliseconds, 0.5);
  const p99 = (result: PathResult) => percentile(result.short.latenciesMilliseconds, 0.99);
  const lines = [
    `Short completions: ${options.concurrency} concurrent, max_tokens ${options.shortTokens}; streams: ` +
      `${options.streamConcurrency} concurrent, ${options.streamTokens} tokens each; ${options.pods} simulated pods ` +
      `(time scale ${options.timeScale}) in a child process; ${seconds} s measured after ${options.warmupSeconds} s warm-up.`,
    '',
    '| path | req/s | × direct | p50 ms | p99 ms | added p50 ms | added p99 ms | proxy CPU µs/req | stream tokens/s | × direct | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const result of results) {
    const isDirect = result === direct;
    lines.push(
      `| ${result.name} | ${format(shortRate(result))} | ${format(shortRate(result) / shortRate(direct), 2)} | ` +
        `${format(p50(result), 2)} | ${format(p99(result), 2)} | ` +
        `${isDirect ? '–' : format(p50(result) - p50(direct), 2)} | ${isDirect ? '–' : format(p99(result) - p99(direct), 2)} | ` +
        `${format(result.cpuMicrosecondsPerShortRequest ?? Number.NaN)} | ${format(tokenRate(result))} | ${format(tokenRate(result) / tokenRate(direct), 2)} | ` +
        `${result.short.errors + result.stream.errors} |`,
    );
  }
  const firstErrors = results
    .flatMap((result) =>
      [result.short.firstError, result.stream.firstError].map((error) => [result.name, error]),
    )
    .filter(([, error]) => error !== undefined);
  for (const [name, error] of firstErrors) lines.push('', `First error via ${name}: ${error}`);
  return lines.join('\n');
}

/** Run every path and return the Markdown report. */
export async function runGatewayBench(options: GatewayBenchOptions): Promise<string> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const workFolder = await mkdtemp(join(tmpdir(), 'llmd-gateway-bench-'));
  const { child: simulator, endpoints } = await startSimChild(options.pods, options.timeScale);
  let nginx: ChildProcess | undefined;
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  try {
    log(`simulated pods: ${endpoints.join(', ')}`);
    const pipeline = await (options.createPipeline ?? createRoundRobinPipeline)(endpoints);
    gateway = await startGateway({
      pipeline,
      endpoints: () => endpoints,
      maxConnectionsPerEndpoint: Math.max(options.concurrency, options.streamConcurrency),
    });
    const paths: Array<{ name: string; baseUrls: string[]; cpu?: CpuProbe }> = [
      { name: 'direct', baseUrls: endpoints.map((endpoint) => `http://${endpoint}`) },
      { name: 'llmd gateway', baseUrls: [gateway.url], cpu: mainThreadCpu },
    ];
    if (options.nginx) {
      const binary = findNginx();
      if (binary) {
        const started = await startNginx(binary, endpoints, workFolder);
        nginx = started.process;
        const nginxPid = started.process.pid;
        paths.push({
          name: 'nginx',
          baseUrls: [started.url],
          ...(nginxPid === undefined ? {} : { cpu: processTreeCpu(nginxPid) }),
        });
      } else log('nginx not found (apt-get install -y nginx): skipping its row');
    }

    const results: PathResult[] = [];
    for (const path of paths) {
      const common = {
        baseUrls: path.baseUrls,
        warmupMilliseconds: options.warmupSeconds * 1000,
        durationMilliseconds: options.durationSeconds * 1000,
        model: 'bench-model',
      };
      log(`${path.name}: short completions…`);
      const cpuBefore = path.cpu?.();
      const short = await runLoad({
        ...common,
        kind: 'completions',
        concurrency: options.concurrency,
        maxTokens: options.shortTokens,
      });
      const cpuAfter = path.cpu?.();
      const cpuMicrosecondsPerShortRequest =
        cpuBefore === undefined || cpuAfter === undefined || short.completedRequests === 0
          ? undefined
          : ((cpuAfter - cpuBefore) * 1e6) / short.completedRequests;
      log(`${path.name}: streams…`);
      const stream = await runLoad({
        ...common,
        kind: 'streaming',
        concurrency: options.streamConcurrency,
        maxTokens: options.streamTokens,
      });
      results.push({ name: path.name, short, stream, cpuMicrosecondsPerShortRequest });
    }
    return renderTable(results, options);
  } finally {
    await gateway?.close(1_000);
    if (nginx) await stopChild(nginx, 'SIGTERM');
    simulator.stdin?.end();
    await stopChild(simulator, 'SIGTERM');
    await rm(workFolder, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pods: { type: 'string', default: '2' },
      concurrency: { type: 'string', default: '64' },
      'short-tokens': { type: 'string', default: '4' },
      'stream-concurrency': { type: 'string', default: '32' },
      'stream-tokens': { type: 'string', default: '256' },
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      'time-scale': { type: 'string', default: '100' },
      'no-nginx': { type: 'boolean', default: false },
      // Route with the real Endpoint Picker (llm-d's default config, 50 ms scraping) instead of round robin.
      scheduler: { type: 'boolean', default: false },
    },
  });
  let picker: Awaited<ReturnType<typeof createEndpointPicker>> | undefined;
  const createPipeline: PipelineFactory | undefined = values.scheduler
    ? async (endpoints) => {
        picker = await createEndpointPicker({
          discovery: new StaticDiscovery({ endpoints: [...endpoints] }),
        });
        await picker.start();
        return picker.pipeline;
      }
    : undefined;
  const report = await runGatewayBench({
    pods: Number(values.pods),
    concurrency: Number(values.concurrency),
    shortTokens: Number(values['short-tokens']),
    streamConcurrency: Number(values['stream-concurrency']),
    streamTokens: Number(values['stream-tokens']),
    durationSeconds: Number(values.duration),
    warmupSeconds: Number(values.warmup),
    timeScale: Number(values['time-scale']),
    nginx: !values['no-nginx'],
    ...(createPipeline ? { createPipeline } : {}),
  });
  await picker?.close();
  process.stdout.write(`${report}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
