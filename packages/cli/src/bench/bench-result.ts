import type { ArrivalsOptions, BenchTarget } from './arrivals.js';
import type { LatencySummary } from './latency-samples.js';

/** The numbers of one load level (one rate of a ladder, or the concurrency stage). */
export interface BenchStepResult {
  index: number;
  target: BenchTarget;
  /** From the step's start until its last request finished (at least its sending duration). */
  durationSeconds: number;
  /** Requests sent. */
  requests: number;
  /** Requests whose whole stream arrived. */
  completed: number;
  failed: number;
  /** In flight when the run was aborted; neither completed nor failed. */
  cancelled: number;
  /**
   * Arrivals that could not be sent: still waiting when the duration ended (multi-turn users all
   * busy) or beyond the pending-arrival bound. A large number means the target rate was not met.
   */
  unsentArrivals: number;
  /** Failed requests by HTTP status (`"404"`), `network`, `timeout` or `stream`. */
  errorsByStatus: Record<string, number>;
  /** Σ prompt tokens of completed requests (server usage, else the workload's count). */
  promptTokens: number;
  /** Σ `cached_tokens` of completed requests. */
  cachedTokens: number;
  /** Σ output tokens of completed requests. */
  outputTokens: number;
  /** Σ cached / Σ prompt tokens over completed requests that reported `cached_tokens`; null if none did. */
  cacheHitRate: number | null;
  outputTokensPerSecond: number;
  /** Completed requests per second. */
  requestsPerSecond: number;
  timeToFirstTokenMilliseconds: LatencySummary;
  /** Over every gap between text chunks of completed requests. */
  interTokenLatencyMilliseconds: LatencySummary;
  endToEndLatencyMilliseconds: LatencySummary;
}

export interface BenchResult {
  baseUrl: string;
  model: string;
  /** The workload's settings. */
  workload: { readonly type: string } & Readonly<Record<string, unknown>>;
  arrivals: ArrivalsOptions;
  /** What prompt lengths in the workload settings count: tokens of the model's tokenizer, or words. */
  unit: 'tokens' | 'words';
  /** ISO 8601 time the run started. */
  startedAt: string;
  durationSeconds: number;
  /** The run was aborted; steps after the aborted one are missing. */
  aborted: boolean;
  steps: BenchStepResult[];
}
