import { type Logger, noopLogger } from '@llmd/core';
import type { SimConfigInput } from '@llmd/sim';
import { startLocalStack } from '../up/local-stack.js';
import type { ArrivalsInput } from './arrivals.js';
import type { BenchResult } from './bench-result.js';
import { type BenchProgress, runBench } from './bench-runner.js';
import type { NamedBenchResult } from './named-result.js';
import type { PromptVocabulary } from './prompt-vocabulary.js';
import { type RoutingSetup, routingSetupPath } from './routing-setups.js';
import type { WorkloadInput } from './workloads.js';

export interface CompareSetupsOptions {
  /** Run in this order, each on a fresh local cluster. */
  setups: ReadonlyArray<RoutingSetup>;
  /** Simulated pods per cluster. */
  replicas: number;
  modelName: string;
  /** Simulator settings of every pod, identical for every setup (block size, KV capacity, latency…). */
  sim: Partial<SimConfigInput>;
  workload: WorkloadInput;
  arrivals: ArrivalsInput;
  /** Built once and shared: every setup gets exactly the same prompts. */
  vocabulary?: PromptVocabulary | undefined;
  /** Run the pods in this process (tests) instead of a child process. */
  inProcessPods?: boolean | undefined;
  requestTimeoutMilliseconds?: number | undefined;
  /** Aborting stops the current run (its partial result is kept) and skips the remaining setups. */
  signal?: AbortSignal | undefined;
  logger?: Logger | undefined;
  onSetupStarting?: ((setup: RoutingSetup, index: number) => void) | undefined;
  onProgress?: ((setup: RoutingSetup, progress: BenchProgress) => void) | undefined;
  onSetupFinished?: ((setup: RoutingSetup, result: BenchResult) => void) | undefined;
}

/**
 * Run the same workload and arrival schedule against each setup on its own fresh cluster (pods,
 * EPP and gateway started for it and stopped after it, also on failure), so no setup inherits
 * another's caches.
 */
export async function compareRoutingSetups(options: CompareSetupsOptions): Promise<NamedBenchResult[]> {
  const logger = options.logger ?? noopLogger;
  const results: NamedBenchResult[] = [];
  for (const [index, setup] of options.setups.entries()) {
    if (options.signal?.aborted) break;
    options.onSetupStarting?.(setup, index);
    const stack = await startLocalStack({
      // Time constants of the EPP that race the pods (the speculative TTL) follow the pods' clock.
      path: routingSetupPath(setup, { timeScale: Number(options.sim.timeScale ?? 1) }),
      replicas: options.replicas,
      modelName: options.modelName,
      sim: options.sim,
      port: 0,
      plugins: setup.plugins,
      ...(options.inProcessPods ? { inProcessPods: true } : {}),
      logger: logger.child({ setup: setup.name }),
    });
    try {
      const result = await runBench({
        baseUrl: stack.gatewayUrl,
        model: stack.modelName,
        workload: options.workload,
        arrivals: options.arrivals,
        vocabulary: options.vocabulary,
        signal: options.signal,
        requestTimeoutMilliseconds: options.requestTimeoutMilliseconds,
        onProgress: (progress) => options.onProgress?.(setup, progress),
        logger: logger.child({ setup: setup.name }),
      });
      results.push({ name: setup.name, result });
      options.onSetupFinished?.(setup, result);
    } finally {
      await stack.close();
    }
  }
  return results;
}
