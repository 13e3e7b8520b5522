import type { BenchTarget } from './arrivals.js';
import type { BenchStepResult } from './bench-result.js';
import { LatencySamples } from './latency-samples.js';
import type { RequestOutcome } from './streaming-client.js';
import type { BenchRequest } from './workload.js';

/** Accumulates the outcomes of one step in bounded memory. */
export class StepStatistics {
  requests = 0;
  completed = 0;
  failed = 0;
  cancelled = 0;
  unsentArrivals = 0;
  private readonly errorsByStatus = new Map<string, number>();
  private promptTokens = 0;
  private outputTokens = 0;
  private cachedTokens = 0;
  private promptTokensWithCacheReport = 0;
  private readonly timeToFirstToken: LatencySamples;
  private readonly interTokenLatency: LatencySamples;
  private readonly endToEndLatency: LatencySamples;

  constructor(
    readonly index: number,
    readonly target: BenchTarget,
  ) {
    this.timeToFirstToken = new LatencySamples(200_000, index * 3 + 1);
    this.interTokenLatency = new LatencySamples(200_000, index * 3 + 2);
    this.endToEndLatency = new LatencySamples(200_000, index * 3 + 3);
  }

  record(request: BenchRequest, outcome: RequestOutcome): void {
    if (outcome.cancelled) {
      this.cancelled++;
      return;
    }
    if (!outcome.ok) {
      this.failed++;
      const key = outcome.errorKey ?? 'unknown';
      this.errorsByStatus.set(key, (this.errorsByStatus.get(key) ?? 0) + 1);
      return;
    }
    this.completed++;
    const promptTokens = outcome.promptTokens ?? request.promptTokens;
    this.promptTokens += promptTokens;
    this.outputTokens += outcome.outputTokens;
    if (outcome.cachedTokens !== undefined) {
      this.cachedTokens += outcome.cachedTokens;
      this.promptTokensWithCacheReport += promptTokens;
    }
    if (outcome.timeToFirstTokenMilliseconds !== undefined)
      this.timeToFirstToken.add(outcome.timeToFirstTokenMilliseconds);
    for (const gap of outcome.interTokenLatenciesMilliseconds) this.interTokenLatency.add(gap);
    this.endToEndLatency.add(outcome.endToEndMilliseconds);
  }

  result(durationSeconds: number): BenchStepResult {
    const perSecond = (value: number) => (durationSeconds > 0 ? value / durationSeconds : 0);
    return {
      index: this.index,
      target: this.target,
      durationSeconds,
      requests: this.requests,
      completed: this.completed,
      failed: this.failed,
      cancelled: this.cancelled,
      unsentArrivals: this.unsentArrivals,
      errorsByStatus: Object.fromEntries(
        [...this.errorsByStatus].sort(([left], [right]) => left.localeCompare(right)),
      ),
      promptTokens: this.promptTokens,
      cachedTokens: this.cachedTokens,
      outputTokens: this.outputTokens,
      cacheHitRate:
        this.promptTokensWithCacheReport > 0 ? this.cachedTokens / this.promptTokensWithCacheReport : null,
      outputTokensPerSecond: perSecond(this.outputTokens),
      requestsPerSecond: perSecond(this.completed),
      timeToFirstTokenMilliseconds: this.timeToFirstToken.summarize(),
      interTokenLatencyMilliseconds: this.interTokenLatency.summarize(),
      endToEndLatencyMilliseconds: this.endToEndLatency.summarize(),
    };
  }
}
