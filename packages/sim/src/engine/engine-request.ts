import type { KvTransferParams } from '@llmd/core';

export type FinishReason = 'stop' | 'length' | 'abort' | 'remote_decode' | 'error';

/** What the engine needs to run one request; the API layer has already chosen the output tokens. */
export interface EngineRequestInput {
  requestId: string;
  promptTokenIds: ReadonlyArray<number>;
  /** The tokens the simulated model will emit, in order (at least one). */
  outputTokenIds: ReadonlyArray<number>;
  /** Why generation ends after the last output token, unless cut short. */
  finishReason: 'stop' | 'length';
  loraName: string | null;
  cacheSalt: string | null;
  /** P/D: `prefill` runs prefill only and keeps the blocks; `decode` receives the KV instead of computing it. */
  disaggregationRole: 'prefill' | 'decode' | null;
  kvTransferParams: KvTransferParams | null;
  /**
   * When the request reached the server (engine clock, ms). The simulator's own HTTP and
   * tokenization work happens between arrival and submission; anchoring at arrival keeps that
   * overhead out of the modelled TTFT. Defaults to the submission time.
   */
  arrivedAt?: number;
}

export interface EngineRequestTimings {
  /** All in model milliseconds (real time × time scale). */
  queueMilliseconds: number;
  prefillMilliseconds: number;
  timeToFirstTokenMilliseconds: number;
  decodeMilliseconds: number;
  endToEndMilliseconds: number;
}

export interface EngineRequestResult {
  finishReason: FinishReason;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  timings: EngineRequestTimings;
  /** Prefill role: the pinned blocks a decoder would read. */
  remoteBlockIds: number[] | null;
  /**
   * Prefill role: the engine's own id for the pinned blocks, unique per request (the client's
   * request id may repeat). The decoder names it to release them (`releaseRemoteBlocks`).
   */
  remoteRequestId: string | null;
}

export interface EngineRequestObserver {
  /** The request was admitted to the running batch. */
  onScheduled?(info: { cachedTokens: number }): void;
  /** Output token `index` (into `outputTokenIds`) was produced. */
  onToken(index: number): void;
  onFinish(result: EngineRequestResult): void;
}

export interface EngineRequestHandle {
  abort(): void;
}
