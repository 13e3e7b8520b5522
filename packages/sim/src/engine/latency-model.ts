import type { SeededRandom } from './seeded-random.js';

export interface LatencyProfile {
  /** `constant`: TTFT is `timeToFirstToken`; `per-token`: overhead + uncached tokens × per-token time. */
  calculator: 'constant' | 'per-token';
  timeToFirstTokenMilliseconds: number;
  timeToFirstTokenStandardDeviationMilliseconds: number;
  prefillOverheadMilliseconds: number;
  prefillTimePerTokenMilliseconds: number;
  prefillTimeStandardDeviationMilliseconds: number;
  interTokenLatencyMilliseconds: number;
  interTokenLatencyStandardDeviationMilliseconds: number;
  kvCacheTransferLatencyMilliseconds: number;
  kvCacheTransferLatencyStandardDeviationMilliseconds: number;
  kvCacheTransferTimePerTokenMilliseconds: number;
  kvCacheTransferTimeStandardDeviationMilliseconds: number;
  /** ≥ 1: GPU-bound times grow linearly to this factor as running requests reach `maxNumberOfSequences`. */
  timeFactorUnderLoad: number;
}

/**
 * The simulator's timing model (llm-d-inference-sim's): jitter is normal with the standard deviation
 * capped at 30% of the mean and samples clamped to ±70% of it; load scales compute, not transfer.
 */
export class LatencyModel {
  constructor(
    private readonly profile: LatencyProfile,
    private readonly maximumNumberOfSequences: number,
    private readonly random: SeededRandom,
  ) {}

  loadFactor(runningRequests: number): number {
    const factor = this.profile.timeFactorUnderLoad;
    if (factor <= 1 || this.maximumNumberOfSequences <= 1) return 1;
    const load = Math.min(1, Math.max(0, runningRequests - 1) / (this.maximumNumberOfSequences - 1));
    return 1 + (factor - 1) * load;
  }

  private sample(mean: number, standardDeviation: number): number {
    if (mean <= 0) return 0;
    const deviation = Math.min(standardDeviation, 0.3 * mean);
    if (deviation <= 0) return mean;
    const value = mean + deviation * this.random.normal();
    return Math.min(1.7 * mean, Math.max(0.3 * mean, value));
  }

  /** Time to the first token of a locally prefilled request. */
  prefillMilliseconds(promptTokens: number, cachedTokens: number, runningRequests: number): number {
    const profile = this.profile;
    const base =
      profile.calculator === 'constant'
        ? this.sample(
            profile.timeToFirstTokenMilliseconds,
            profile.timeToFirstTokenStandardDeviationMilliseconds,
          )
        : profile.prefillOverheadMilliseconds +
          this.sample(
            (promptTokens - cachedTokens) * profile.prefillTimePerTokenMilliseconds,
            profile.prefillTimeStandardDeviationMilliseconds,
          );
    return base * this.loadFactor(runningRequests);
  }

  /** Time to the first token of a P/D decode request whose KV arrives from a prefill engine (not load-scaled). */
  kvTransferMilliseconds(transferredTokens: number): number {
    const profile = this.profile;
    return profile.calculator === 'constant'
      ? this.sample(
          profile.kvCacheTransferLatencyMilliseconds,
          profile.kvCacheTransferLatencyStandardDeviationMilliseconds,
        )
      : this.sample(
          transferredTokens * profile.kvCacheTransferTimePerTokenMilliseconds,
          profile.kvCacheTransferTimeStandardDeviationMilliseconds,
        );
  }

  interTokenMilliseconds(runningRequests: number): number {
    return (
      this.sample(
        this.profile.interTokenLatencyMilliseconds,
        this.profile.interTokenLatencyStandardDeviationMilliseconds,
      ) * this.loadFactor(runningRequests)
    );
  }
}
