import { z } from 'zod';
import { durationMillisecondsSchema } from '../../config/duration.js';
import { engineMetricsConfigSchema } from '../../datalayer/engine-metric-mappings.js';
import { definePlugin } from '../../plugin/define-plugin.js';

/**
 * llm-d's data-layer plugin types. They carry settings (where to scrape, how to map engine metrics,
 * which file lists the endpoints) that the EPP runtime applies when it builds the datastore; see
 * README.md in this folder.
 */

export const metricsDataSourcePlugin = definePlugin({
  type: 'metrics-data-source',
  stability: 'Stable',
  parameters: z
    .object({
      scheme: z.enum(['http', 'https']).default('http'),
      path: z.string().startsWith('/').default('/metrics'),
      interval: durationMillisecondsSchema.optional(),
      timeout: durationMillisecondsSchema.optional(),
      insecureSkipVerify: z.boolean().default(true),
      caCertPath: z.string().optional(),
      clientCertPath: z.string().optional(),
      clientKeyPath: z.string().optional(),
    })
    .strict()
    .default({ scheme: 'http', path: '/metrics', insecureSkipVerify: true }),
  create: (parameters) => ({
    dataLayer: {
      kind: 'metrics-source',
      scheme: parameters.scheme,
      path: parameters.path,
      intervalMilliseconds: parameters.interval,
      timeoutMilliseconds: parameters.timeout,
      tls: {
        insecureSkipVerify: parameters.insecureSkipVerify,
        ...(parameters.caCertPath ? { caCertPath: parameters.caCertPath } : {}),
        ...(parameters.clientCertPath ? { clientCertPath: parameters.clientCertPath } : {}),
        ...(parameters.clientKeyPath ? { clientKeyPath: parameters.clientKeyPath } : {}),
      },
    },
  }),
});

export const coreMetricsExtractorPlugin = definePlugin({
  type: 'core-metrics-extractor',
  stability: 'Stable',
  parameters: engineMetricsConfigSchema.default({ defaultEngine: 'vllm', engineConfigs: [] }),
  create: (parameters) => ({ dataLayer: { kind: 'metrics-extractor', engineMetrics: parameters } }),
});

export const fileDiscoveryPlugin = definePlugin({
  type: 'file-discovery',
  stability: 'Stable',
  parameters: z.object({ path: z.string().min(1), watchFile: z.boolean().default(true) }).strict(),
  create: (parameters) => ({
    dataLayer: { kind: 'file-discovery', path: parameters.path, watchFile: parameters.watchFile },
  }),
});

export const endpointNotificationSourcePlugin = definePlugin({
  type: 'endpoint-notification-source',
  stability: 'Stable',
  create: () => ({ dataLayer: { kind: 'notification-source' } }),
});

export const kubernetesNotificationSourcePlugin = definePlugin({
  type: 'k8s-notification-source',
  stability: 'Stable',
  parameters: z.object({}).loose().default({}),
  create: () => ({ dataLayer: { kind: 'notification-source' } }),
});

export const modelsDataSourcePlugin = definePlugin({
  type: 'models-data-source',
  stability: 'Stable',
  parameters: z
    .object({
      scheme: z.enum(['http', 'https']).optional(),
      path: z.string().optional(),
      interval: durationMillisecondsSchema.optional(),
    })
    .strict()
    .default({}),
  create: () => ({ dataLayer: { kind: 'models-source' } }),
});

export const modelsDataExtractorPlugin = definePlugin({
  type: 'models-data-extractor',
  stability: 'Stable',
  create: () => ({ dataLayer: { kind: 'models-source' } }),
});

export const dataLayerPlugins = [
  metricsDataSourcePlugin,
  coreMetricsExtractorPlugin,
  fileDiscoveryPlugin,
  endpointNotificationSourcePlugin,
  kubernetesNotificationSourcePlugin,
  modelsDataSourcePlugin,
  modelsDataExtractorPlugin,
];
