import type { Logger, Tokenizer } from '@llmd/core';
import { loadTokenizer } from '@llmd/core';
import type { SimConfigInput } from './config/sim-config.js';
import { type SimServer, type StartSimServerOptions, startSimServer } from './sim-server.js';

export interface StartSimClusterOptions extends Omit<StartSimServerOptions, 'tokenizer'> {
  /** Number of simulated pods. */
  replicas: number;
  /** Settings shared by every pod; `port` 0 (the default here) gives each pod a free port. */
  config?: SimConfigInput;
  /** Per-pod overrides (labels of roles, different latency profiles, …). */
  configFor?: (index: number) => Partial<SimConfigInput>;
  logger?: Logger;
}

export interface SimCluster {
  readonly pods: ReadonlyArray<SimServer>;
  /** `host:port` of each pod, in order. */
  readonly endpoints: ReadonlyArray<string>;
  close(drainTimeoutMilliseconds?: number): Promise<void>;
}

/**
 * Start several simulated pods in this process on distinct ports (for tests and examples). The
 * tokenizer is loaded once and shared.
 */
export async function startSimCluster(options: StartSimClusterOptions): Promise<SimCluster> {
  const base: SimConfigInput = { port: 0, ...options.config };
  let tokenizer: Tokenizer | undefined;
  if (base.tokenizer)
    tokenizer = await loadTokenizer(base.tokenizer, {
      modelName:
        (Array.isArray(base.servedModelName) ? base.servedModelName[0] : base.servedModelName) ?? base.model,
    });
  const pods: SimServer[] = [];
  try {
    for (let index = 0; index < options.replicas; index++) {
      const config = { ...base, ...options.configFor?.(index) };
      pods.push(
        await startSimServer(config, {
          ...options,
          logger: options.logger?.child({ pod: index }),
          ...(tokenizer ? { tokenizer } : {}),
        }),
      );
    }
  } catch (error) {
    await Promise.all(pods.map((pod) => pod.close(0)));
    throw error;
  }
  return {
    pods,
    endpoints: pods.map((pod) => pod.url.replace(/^http:\/\//, '')),
    close: async (drainTimeoutMilliseconds = 0) => {
      await Promise.all(pods.map((pod) => pod.close(drainTimeoutMilliseconds)));
    },
  };
}
