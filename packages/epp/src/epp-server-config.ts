import { z } from 'zod';
import { durationMillisecondsSchema } from './config/duration.js';

/** A boolean flag that also takes `=true` / `=false` (`--secure-serving=false`), as Go flags do. */
const booleanFlag = (defaultValue: boolean) =>
  z
    .union([z.boolean(), z.enum(['true', 'false'])])
    .default(defaultValue)
    .transform((value) => value === true || value === 'true');

const port = (defaultValue: number) => z.coerce.number().int().min(0).max(65535).default(defaultValue);

/**
 * `llmd epp` settings under llm-d's flag names (camelCase here; the CLI turns them into
 * `--kebab-case`). One schema for flags, library options and defaults.
 */
export const eppServerConfigSchema = z
  .object({
    grpcPort: port(9002).describe('ext_proc gRPC port (0 picks a free port)'),
    grpcHealthPort: port(9003).describe('gRPC health port'),
    metricsPort: port(9090).describe('Prometheus /metrics port'),
    host: z.string().min(1).default('0.0.0.0').describe('interface to bind'),
    configFile: z.string().min(1).optional().describe('EndpointPickerConfig YAML file'),
    configText: z.string().min(1).optional().describe('EndpointPickerConfig YAML text'),
    endpoints: z.string().min(1).optional().describe('static endpoints: ip:port,ip:port,…'),
    endpointsFile: z
      .string()
      .min(1)
      .optional()
      .describe("endpoints file in llm-d's file-discovery format (watched)"),
    poolName: z.string().min(1).optional().describe('InferencePool to watch (Kubernetes)'),
    poolNamespace: z
      .string()
      .min(1)
      .default('default')
      .describe('namespace of the InferencePool (default: env NAMESPACE, then default)'),
    poolGroup: z
      .string()
      .min(1)
      .default('inference.networking.k8s.io')
      .describe('API group of the InferencePool'),
    kubeconfig: z
      .string()
      .min(1)
      .optional()
      .describe('kubeconfig file (default: in-cluster, then ~/.kube/config)'),
    refreshMetricsInterval: durationMillisecondsSchema
      .default(50)
      .describe('model-server metrics scrape interval (min 50ms)'),
    metricsStalenessThreshold: durationMillisecondsSchema
      .default(2000)
      .describe('metrics age after which pool gauges treat an endpoint as stale'),
    refreshPrometheusMetricsInterval: durationMillisecondsSchema
      .default(5000)
      .describe('accepted for compatibility; pool gauges are computed on scrape'),
    secureServing: booleanFlag(true).describe('serve ext_proc over TLS (self-signed unless --cert-path)'),
    certPath: z.string().min(1).optional().describe('directory with tls.crt and tls.key'),
    disableEndpointSubsetFilter: booleanFlag(false).describe("ignore Envoy's subset hint"),
    emitEndpointScores: booleanFlag(false).describe(
      'add x-gateway-destination-endpoint-scores to envoy.lb metadata',
    ),
    grpcMaxRecvMsgSize: z.coerce
      .number()
      .int()
      .positive()
      .optional()
      .describe('largest gRPC message received, bytes'),
    grpcMaxSendMsgSize: z.coerce
      .number()
      .int()
      .positive()
      .optional()
      .describe('largest gRPC message sent, bytes'),
    allowExperimentalPlugins: booleanFlag(false).describe('allow Alpha plugin types'),
    drainTimeout: durationMillisecondsSchema
      .default(30_000)
      .describe('on SIGTERM: report NOT_SERVING, keep serving this long'),
    maxRequestBodyBytes: z.coerce
      .number()
      .int()
      .positive()
      .default(16 * 1024 * 1024)
      .describe('largest request body (413 above)'),
    gatewayPort: z.coerce
      .number()
      .int()
      .min(0)
      .max(65535)
      .optional()
      .describe('also serve the embedded OpenAI-compatible gateway on this port'),
    objectives: z.string().optional().describe('InferenceObjective priorities: name=priority,name=priority'),
  })
  .strict();

export type EppServerConfigInput = z.input<typeof eppServerConfigSchema>;
export type EppServerConfig = z.output<typeof eppServerConfigSchema>;

/**
 * Flags llm-d removed: setting one makes startup fail (as upstream does), because the metric names
 * now come from `core-metrics-extractor` `engineConfigs`.
 */
export const removedEppFlags: ReadonlyArray<string> = [
  'total-queued-requests-metric',
  'total-running-requests-metric',
  'kv-cache-usage-percentage-metric',
  'lora-info-metric',
  'cache-info-metric',
];
