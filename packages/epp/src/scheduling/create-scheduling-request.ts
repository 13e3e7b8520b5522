import { randomUUID } from 'node:crypto';
import { AttributeMap } from '../plugin/attribute-map.js';
import type { InferenceRequestBody, SchedulingRequest } from '../plugin/scheduling-request.js';

export interface SchedulingRequestInit {
  readonly requestId?: string;
  readonly path?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: InferenceRequestBody;
  readonly model?: string;
  readonly targetModel?: string;
  readonly priority?: number;
  readonly fairnessId?: string;
  readonly bodyBytes?: number;
  readonly receivedAt?: number;
  readonly signal?: AbortSignal;
}

/**
 * Builds a {@link SchedulingRequest} with defaults for what is not given, for custom gateways and
 * tests that call `Scheduler.schedule` directly.
 */
export function createSchedulingRequest(init: SchedulingRequestInit = {}): SchedulingRequest {
  const model = init.model ?? init.body?.model ?? '';
  return {
    requestId: init.requestId ?? randomUUID(),
    path: init.path ?? (init.body?.kind === 'completions' ? '/v1/completions' : '/v1/chat/completions'),
    headers: init.headers ?? {},
    body: init.body,
    model,
    targetModel: init.targetModel ?? model,
    priority: init.priority ?? 0,
    fairnessId: init.fairnessId ?? 'default-flow',
    bodyBytes: init.bodyBytes ?? 0,
    receivedAt: init.receivedAt ?? Date.now(),
    attributes: new AttributeMap(),
    upstreamHeaders: new Map(),
    signal: init.signal ?? new AbortController().signal,
  };
}

/** A chat-completions body for the given messages (convenience for library users and tests). */
export function chatCompletionBody(
  model: string,
  messages: ReadonlyArray<{ role: string; content: string }>,
  extra: Record<string, unknown> = {},
): InferenceRequestBody {
  const json = { model, messages, ...extra };
  return { kind: 'chat-completions', json, model, stream: extra.stream === true, messages };
}

/** A completions body for the given prompt. */
export function completionBody(
  model: string,
  prompt: string | ReadonlyArray<number>,
  extra: Record<string, unknown> = {},
): InferenceRequestBody {
  const json = { model, prompt, ...extra };
  return { kind: 'completions', json, model, stream: extra.stream === true, prompt };
}
