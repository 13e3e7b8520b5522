import type { ChatMessage, ChatTool } from '@llmd/core';
import type { AttributeMap } from './attribute-map.js';

/** Which OpenAI-compatible API a request body belongs to; `other` is passed through unparsed. */
export type InferenceRequestKind = 'completions' | 'chat-completions' | 'other';

/** The parsed body of an inference request, as the request parser understood it. */
export interface InferenceRequestBody {
  readonly kind: InferenceRequestKind;
  /** The whole JSON object, unknown fields included. */
  readonly json: Readonly<Record<string, unknown>>;
  /** `model` as the client sent it. */
  readonly model: string;
  readonly stream: boolean;
  /** Completions: the prompt (text, texts, token ids or lists of token ids). */
  readonly prompt?:
    | string
    | ReadonlyArray<string>
    | ReadonlyArray<number>
    | ReadonlyArray<ReadonlyArray<number>>;
  /** Chat completions: the messages. */
  readonly messages?: ReadonlyArray<ChatMessage>;
  readonly tools?: ReadonlyArray<ChatTool>;
  /** vLLM `cache_salt`: isolates prefix-cache reuse between tenants. */
  readonly cacheSalt?: string;
  /** `max_tokens` / `max_completion_tokens`, when given. */
  readonly maxTokens?: number;
}

/**
 * One inference request as the scheduler and plugins see it: transport-neutral (no HTTP, no gRPC).
 * Both the ext_proc server and the embedded gateway build one per request.
 */
export interface SchedulingRequest {
  /** `x-request-id`, generated when the client sent none; the key of per-request plugin state. */
  readonly requestId: string;
  /** Request path, e.g. `/v1/chat/completions`. */
  readonly path: string;
  /** Request headers, names lower-cased. Routing headers sent by clients have already been removed. */
  readonly headers: Readonly<Record<string, string>>;
  /** Undefined for body-less requests and bodies that are not JSON objects of a known API. */
  readonly body: InferenceRequestBody | undefined;
  /** The model name the client asked for (empty when the body names none). */
  readonly model: string;
  /** The model name sent to the model server (after `x-llm-d-model-name-rewrite`). */
  readonly targetModel: string;
  /** From the InferenceObjective named by `x-llm-d-inference-objective`; 0 when unset. */
  readonly priority: number;
  /** `x-llm-d-inference-fairness-id`, else `default-flow`. */
  readonly fairnessId: string;
  /** Size of the request body in bytes. */
  readonly bodyBytes: number;
  /** When the request arrived, in milliseconds (the scheduler's clock). */
  readonly receivedAt: number;
  /** Request-scoped data produced by plugins (tokenized prompt, session binding, …). */
  readonly attributes: AttributeMap;
  /**
   * Headers to set on the request sent to the model server. PreRequest plugins write here (for
   * example `x-prefiller-host-port`); the servers apply them.
   */
  readonly upstreamHeaders: Map<string, string>;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}
