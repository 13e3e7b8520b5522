/** A chat message as the benchmark sends it: text content only. */
export interface BenchChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

interface BenchRequestBase {
  /** Unique within a run. */
  id: string;
  /** The user (or group/user) the request belongs to; multi-turn requests of one user are sent one at a time. */
  userKey?: string;
  /**
   * Prompt length in the vocabulary's unit (see `PromptVocabulary.unit`). For chat requests this is
   * the sum over message contents and leaves out the chat template's own tokens.
   */
  promptTokens: number;
  /** Sent as `max_tokens`; with `ignore_eos` the server generates exactly this many. */
  maxTokens: number;
}

/** Sent to `/v1/completions`. */
export interface CompletionBenchRequest extends BenchRequestBase {
  api: 'completions';
  prompt: string;
}

/** Sent to `/v1/chat/completions`. */
export interface ChatBenchRequest extends BenchRequestBase {
  api: 'chat';
  messages: BenchChatMessage[];
}

export type BenchRequest = CompletionBenchRequest | ChatBenchRequest;

/** How a request ended, as far as the workload cares (multi-turn builds the next turn from it). */
export interface WorkloadCompletion {
  ok: boolean;
  /** The streamed response text ('' on failure). */
  text: string;
  /** Output tokens reported by the server (or counted from chunks). */
  outputTokens: number;
}

/**
 * A source of benchmark requests. Workloads are endless (they cycle or start new conversations);
 * the arrival schedule decides how many requests are sent.
 */
export interface Workload {
  /** The workload's settings, recorded in the results. */
  readonly description: { readonly type: string } & Readonly<Record<string, unknown>>;
  /** The unit prompt lengths are measured in. */
  readonly unit: 'tokens' | 'words';
  /**
   * The next request that may be sent now, or `undefined` when every user is waiting for its
   * previous request (multi-turn): the caller retries after calling {@link complete}.
   */
  next(): BenchRequest | undefined;
  /** Report that a request returned by {@link next} has finished (successfully or not). */
  complete(request: BenchRequest, completion: WorkloadCompletion): void;
}
