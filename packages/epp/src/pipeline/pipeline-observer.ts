import type { RequestTerminationCause } from '../plugin/plugin-interfaces.js';
import type { DropReason } from './request-outcome.js';
import type { ResponseUsage } from './usage-tracker.js';

/** Labels llm-d puts on per-request metrics. */
export interface RequestLabels {
  readonly modelName: string;
  readonly targetModelName: string;
  readonly fairnessId: string;
  readonly priority: number;
}

/** Receives what the pipeline observes; the EPP's Prometheus metrics implement it. */
export interface PipelineObserver {
  requestRejected(
    labels: RequestLabels | undefined,
    status: number,
    dropReason: DropReason | undefined,
  ): void;
  schedulingFinished(seconds: number, outcome: 'success' | 'failure'): void;
  requestRouted(labels: RequestLabels, requestBytes: number): void;
  requestFinished(
    labels: RequestLabels,
    summary: {
      readonly cause: RequestTerminationCause;
      readonly status: number | undefined;
      readonly durationSeconds: number;
      readonly firstChunkSeconds: number | undefined;
      readonly responseBytes: number;
      readonly usage: ResponseUsage | undefined;
    },
  ): void;
  disaggregationDecision?(modelName: string, decisionType: string): void;
}
