import type { Logger, Tokenizer } from '@llmd/core';
import type { SimConfig } from '../config/sim-config.js';
import type { SeededRandom } from '../engine/seeded-random.js';
import type { SimEngine } from '../engine/sim-engine.js';
import type { SimMetrics } from '../metrics/sim-metrics.js';

/** LoRA adapters a simulated server knows (loaded at start or through the API), shared by its ranks. */
export type LoraRegistry = Map<string, { path: string }>;

/** Everything a request handler needs about the simulated pod (one data-parallel rank) it runs on. */
export interface SimPodContext {
  readonly config: SimConfig;
  readonly rank: number;
  readonly host: string;
  /** The port this rank listens on (known once bound). */
  port: number;
  readonly engine: SimEngine;
  readonly metrics: SimMetrics;
  readonly tokenizer: Tokenizer;
  /** Names the base model answers to; the first is reported in responses. */
  readonly servedModelNames: ReadonlyArray<string>;
  readonly loras: LoraRegistry;
  readonly random: SeededRandom;
  /** Identifies this engine in P/D `kv_transfer_params.remote_engine_id`. */
  readonly engineId: string;
  readonly podName: string | undefined;
  readonly podNamespace: string | undefined;
  readonly logger: Logger;
  isReady(): boolean;
}
