import { createServer } from 'node:net';
import { LlmdError, type Logger, noopLogger } from '@llmd/core';
import {
  createDefaultFlowControl,
  createEndpointPicker,
  type EndpointPicker,
  type ExtProcServer,
  type Gateway,
  type PluginDefinition,
  type RequestPipeline,
  StaticDiscovery,
  startExtProcServer,
  startGateway,
} from '@llmd/epp';
import type { SimConfigInput } from '@llmd/sim';
import { type SimPods, startSimPods } from './sim-pods.js';
import type { PathContext, WellLitPath } from './well-lit-paths.js';

export interface StartLocalStackOptions {
  readonly path: WellLitPath;
  /** A user's EndpointPickerConfig (YAML text) instead of the path's. */
  readonly configText?: string;
  readonly replicas?: number;
  readonly modelName?: string;
  /** Simulator settings for every pod (tokenizer, latency profile, KV capacity, time scale…). */
  readonly sim?: Partial<SimConfigInput>;
  readonly perPod?: ReadonlyArray<Partial<SimConfigInput>>;
  /** Gateway port; default 8000, 0 picks a free one. */
  readonly port?: number;
  readonly host?: string;
  /** Also serve Envoy ext_proc (plaintext) on this port. */
  readonly extProcPort?: number;
  /** Run the simulated pods in this process (tests) instead of a child process. */
  readonly inProcessPods?: boolean;
  // biome-ignore lint/suspicious/noExplicitAny: plugin definitions of any parameter schema.
  readonly plugins?: ReadonlyArray<PluginDefinition<any>>;
  readonly logger?: Logger;
  /** Called with every routing decision (request id → targets), e.g. to show what the scheduler did. */
  readonly onRouted?: (requestId: string, targets: ReadonlyArray<string>) => void;
  /** How long to wait for pods, scraping and plugins to be ready; default 30 s. */
  readonly readyTimeoutMilliseconds?: number;
}

export interface LocalStack {
  readonly path: WellLitPath;
  readonly gatewayUrl: string;
  readonly modelName: string;
  readonly pods: SimPods['pods'];
  readonly picker: EndpointPicker;
  readonly gateway: Gateway;
  readonly extProc: ExtProcServer | undefined;
  readonly eppConfig: string;
  close(): Promise<void>;
}

async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null)
    throw new LlmdError('internal', 'could not pick a free port');
  return address.port;
}

async function waitUntil(condition: () => boolean, timeoutMilliseconds: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMilliseconds;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new LlmdError('internal', `timed out after ${timeoutMilliseconds} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Brings up a well-lit path on this machine: N simulated vLLM pods (a child process by default), the
 * EPP with the path's EndpointPickerConfig, and the embedded gateway — optionally ext_proc for an
 * external Envoy. Resolves once every pod has been scraped and every plugin is ready; `close()`
 * stops everything in reverse order. Used by `llmd up`, `llmd bench` and the examples.
 */
export async function startLocalStack(options: StartLocalStackOptions): Promise<LocalStack> {
  const logger = options.logger ?? noopLogger;
  const host = options.host ?? '127.0.0.1';
  const modelName = options.modelName ?? 'Qwen/Qwen3-0.6B';
  const replicas = options.replicas ?? 4;
  const blockSize = Number(options.sim?.blockSize ?? (options.path.needsKvEvents ? 64 : 16));
  const stops: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
  };
  try {
    // The gateway port is claimed first so "port in use" fails before anything else starts.
    const gatewayPort = options.port ?? 8000;
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new LlmdError(
                'invalid_argument',
                `port ${gatewayPort} is already in use (choose another with --port)`,
              )
            : error,
        ),
      );
      probe.listen(gatewayPort, host, () => resolve());
    });
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const kvEventsEndpoint = `tcp://${host}:${options.path.needsKvEvents ? await freePort(host) : 0}`;
    const partialContext = { modelName, kvEventsEndpoint, blockSize };
    const simBase: Partial<SimConfigInput> = {
      model: modelName,
      ...options.path.simConfig({ ...partialContext, renderUrl: '' }),
      ...options.sim,
      blockSize,
    };
    const pods = await startSimPods({
      replicas,
      config: simBase,
      ...(options.perPod ? { perPod: options.perPod } : {}),
      ...(options.inProcessPods ? { inProcess: true } : {}),
    });
    stops.push(() => pods.close());
    const context: PathContext = { ...partialContext, renderUrl: `http://${pods.pods[0]?.endpoint}` };
    const eppConfig = options.configText ?? options.path.eppConfig(context);

    const picker = await createEndpointPicker({
      config: eppConfig,
      discovery: new StaticDiscovery({ endpoints: pods.pods.map((pod) => pod.endpoint) }),
      createFlowControl: createDefaultFlowControl,
      ...(options.plugins ? { plugins: options.plugins } : {}),
      logger: logger.child({ component: 'epp' }),
    });
    stops.push(() => picker.close());
    await picker.start();
    const readyTimeout = options.readyTimeoutMilliseconds ?? 30_000;
    await waitUntil(
      () => picker.isReady() && picker.datastore.snapshot().every((state) => state.metrics.updateTime > 0),
      readyTimeout,
      'the pods to be scraped and the EPP plugins to be ready',
    );

    const onRouted = options.onRouted;
    const pipeline: RequestPipeline = onRouted
      ? {
          handle: async (incoming) => {
            const outcome = await picker.pipeline.handle(incoming);
            if (outcome.kind === 'route') onRouted(outcome.requestId, outcome.targets);
            return outcome;
          },
        }
      : picker.pipeline;
    const gateway = await startGateway({
      pipeline,
      port: gatewayPort,
      host,
      endpoints: () => picker.datastore.snapshot().map((state) => state.endpoint),
      isReady: () => picker.isReady(),
      metricsHandler: () => picker.metrics.exposition(),
      logger: logger.child({ component: 'gateway' }),
    });
    stops.push(() => gateway.close());

    let extProc: ExtProcServer | undefined;
    if (options.extProcPort !== undefined) {
      extProc = await startExtProcServer({
        pipeline: picker.pipeline,
        port: options.extProcPort,
        healthPort: false,
        host,
        secureServing: false,
        isReady: () => picker.isReady(),
        logger: logger.child({ component: 'ext-proc' }),
      });
      const started = extProc;
      stops.push(() => started.close());
    }

    return {
      path: options.path,
      gatewayUrl: gateway.url,
      modelName,
      pods: pods.pods,
      picker,
      gateway,
      extProc,
      eppConfig,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
