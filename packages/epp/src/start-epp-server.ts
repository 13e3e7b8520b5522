import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { InvalidArgumentError, type Logger, noopLogger, parseWithSchema } from '@llmd/core';
import type { EndpointDiscovery } from './datalayer/endpoint-discovery.js';
import { FileDiscovery } from './datalayer/file-discovery.js';
import { KubernetesDiscovery } from './datalayer/kubernetes-discovery.js';
import { StaticDiscovery } from './datalayer/static-discovery.js';
import { createDefaultFlowControl } from './default-flow-control.js';
import { createEndpointPicker, type EndpointPicker } from './endpoint-picker.js';
import { type EppServerConfigInput, eppServerConfigSchema } from './epp-server-config.js';
import { type Gateway, startGateway } from './gateway/gateway-server.js';
import type { PluginDefinition } from './plugin/define-plugin.js';
import { type ExtProcServer, startExtProcServer } from './server/start-ext-proc-server.js';

export interface StartEppServerOptions {
  readonly logger?: Logger;
  /** Third-party plugin types. */
  // biome-ignore lint/suspicious/noExplicitAny: plugin definitions of any parameter schema.
  readonly plugins?: ReadonlyArray<PluginDefinition<any>>;
}

export interface EppServer {
  readonly picker: EndpointPicker;
  readonly extProc: ExtProcServer;
  readonly metricsPort: number;
  readonly gateway: Gateway | undefined;
  /** SIGTERM behaviour: health NOT_SERVING, streams keep being served. */
  drain(): void;
  close(): Promise<void>;
}

function parseObjectives(text: string | undefined): Map<string, number> | undefined {
  if (!text) return undefined;
  const objectives = new Map<string, number>();
  for (const entry of text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const match = /^([^=]+)=(-?\d+)$/.exec(entry);
    if (!match) {
      throw new InvalidArgumentError(`objectives: "${entry}" must be name=priority (an integer)`, {
        path: 'objectives',
      });
    }
    objectives.set((match[1] as string).trim(), Number(match[2]));
  }
  return objectives;
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/**
 * `llmd epp`: the Endpoint Picker as llm-d runs it — ext_proc on `--grpc-port`, gRPC health on
 * `--grpc-health-port`, Prometheus on `--metrics-port` — plus, optionally, the embedded gateway.
 */
export async function startEppServer(
  input: EppServerConfigInput,
  options: StartEppServerOptions = {},
): Promise<EppServer> {
  const config = parseWithSchema(eppServerConfigSchema, input, 'invalid_config', 'epp flag');
  const logger = options.logger ?? noopLogger;
  if (config.configFile && config.configText) {
    throw new InvalidArgumentError('--config-file and --config-text are mutually exclusive', {
      path: 'configFile',
    });
  }
  const sources = [config.endpoints, config.endpointsFile, config.poolName].filter(Boolean).length;
  if (sources > 1) {
    throw new InvalidArgumentError(
      'choose one endpoint source: --endpoints, --endpoints-file or --pool-name',
      {
        path: 'endpoints',
      },
    );
  }
  let configText = config.configText;
  if (config.configFile) {
    try {
      configText = await readFile(config.configFile, 'utf8');
    } catch (error) {
      throw new InvalidArgumentError(
        `--config-file: cannot read ${config.configFile}: ${(error as Error).message}`,
        {
          path: 'configFile',
          cause: error,
        },
      );
    }
  }
  let discovery: EndpointDiscovery | undefined;
  if (config.endpoints) {
    discovery = new StaticDiscovery({
      endpoints: config.endpoints
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean),
    });
  } else if (config.endpointsFile) {
    discovery = new FileDiscovery({
      path: config.endpointsFile,
      logger: logger.child({ component: 'file-discovery' }),
    });
  } else if (config.poolName) {
    const kubeConfig = new KubeConfig();
    if (config.kubeconfig) kubeConfig.loadFromFile(config.kubeconfig);
    else kubeConfig.loadFromDefault();
    discovery = new KubernetesDiscovery({
      kubeConfig,
      poolName: config.poolName,
      poolNamespace: config.poolNamespace,
      poolGroup: config.poolGroup,
      logger: logger.child({ component: 'kubernetes-discovery' }),
    });
  }

  const objectives = parseObjectives(config.objectives);
  const picker = await createEndpointPicker({
    ...(configText !== undefined ? { config: configText } : {}),
    ...(options.plugins ? { plugins: options.plugins } : {}),
    ...(discovery ? { discovery } : {}),
    allowExperimentalPlugins: config.allowExperimentalPlugins,
    refreshMetricsIntervalMilliseconds: Math.max(50, config.refreshMetricsInterval),
    ...(objectives ? { objectives } : {}),
    disableEndpointSubsetFilter: config.disableEndpointSubsetFilter,
    createFlowControl: createDefaultFlowControl,
    logger,
  });

  const started: Array<() => Promise<void>> = [() => picker.close()];
  const closeAll = async () => {
    for (const stop of started.reverse()) await stop().catch(() => {});
  };
  try {
    await picker.start();
    let draining = false;
    const isReady = () => !draining && picker.isReady();
    const extProc = await startExtProcServer({
      pipeline: picker.pipeline,
      port: config.grpcPort,
      healthPort: config.grpcHealthPort,
      host: config.host,
      secureServing: config.secureServing,
      ...(config.certPath ? { certPath: config.certPath } : {}),
      maxBodyBytes: config.maxRequestBodyBytes,
      emitEndpointScores: config.emitEndpointScores,
      isReady,
      logger: logger.child({ component: 'ext-proc' }),
      ...(config.grpcMaxRecvMsgSize ? { grpcMaxReceiveMessageBytes: config.grpcMaxRecvMsgSize } : {}),
      ...(config.grpcMaxSendMsgSize ? { grpcMaxSendMessageBytes: config.grpcMaxSendMsgSize } : {}),
    });
    started.push(() => extProc.close());

    const metricsServer = createServer((request, response) => {
      if (request.method === 'GET' && (request.url ?? '').split('?')[0] === '/metrics') {
        picker.metrics.exposition().then(
          ({ contentType, body }) => {
            response.writeHead(200, { 'content-type': contentType });
            response.end(body);
          },
          (error: unknown) => {
            response.writeHead(500, { 'content-type': 'text/plain' });
            response.end(String(error));
          },
        );
        return;
      }
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found\n');
    });
    const metricsPort = await listen(metricsServer, config.metricsPort, config.host);
    started.push(
      () =>
        new Promise<void>((resolve) => {
          metricsServer.close(() => resolve());
          metricsServer.closeAllConnections();
        }),
    );

    let gateway: Gateway | undefined;
    if (config.gatewayPort !== undefined) {
      gateway = await startGateway({
        pipeline: picker.pipeline,
        port: config.gatewayPort,
        host: config.host,
        maxBodyBytes: config.maxRequestBodyBytes,
        endpoints: () => picker.datastore.snapshot().map((state) => state.endpoint),
        isReady,
        metricsHandler: () => picker.metrics.exposition(),
        logger: logger.child({ component: 'gateway' }),
      });
      const startedGateway = gateway;
      started.push(() => startedGateway.close());
    }

    return {
      picker,
      extProc,
      metricsPort,
      gateway,
      drain() {
        draining = true;
        extProc.drain();
      },
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
