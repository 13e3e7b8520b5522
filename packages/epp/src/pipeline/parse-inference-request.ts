import { chatCompletionRequestSchema, completionRequestSchema, describeFirstIssue } from '@llmd/core';
import type { InferenceRequestBody } from '../plugin/scheduling-request.js';

export type ParsedBody =
  | {
      readonly ok: true;
      readonly body: InferenceRequestBody | undefined;
      readonly json: Record<string, unknown> | undefined;
    }
  | { readonly ok: false; readonly message: string };

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Which API a path belongs to, by suffix as llm-d's openai-parser matches it (query string ignored). */
export function requestKindOfPath(path: string): 'completions' | 'chat-completions' | 'other' {
  const withoutQuery = path.split('?', 1)[0] as string;
  if (withoutQuery.endsWith('/chat/completions')) return 'chat-completions';
  if (withoutQuery.endsWith('/completions')) return 'completions';
  return 'other';
}

/**
 * Parses an inference request body. Completions and chat completions are validated (a bad body is
 * a 400 naming the field); any other path only needs to be JSON (or nothing) and is passed through.
 */
export function parseInferenceRequest(path: string, bytes: Uint8Array | undefined): ParsedBody {
  const kind = requestKindOfPath(path);
  if (bytes === undefined || bytes.length === 0) {
    if (kind === 'other') return { ok: true, body: undefined, json: undefined };
    return { ok: false, message: 'the request has no body; expected a JSON object' };
  }
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bytes));
  } catch {
    if (kind === 'other') return { ok: true, body: undefined, json: undefined };
    return { ok: false, message: 'the request body is not valid JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    if (kind === 'other') return { ok: true, body: undefined, json: undefined };
    return { ok: false, message: 'the request body must be a JSON object' };
  }
  const object = json as Record<string, unknown>;
  if (kind === 'other') {
    const model = typeof object.model === 'string' ? object.model : '';
    return {
      ok: true,
      json: object,
      body: { kind: 'other', json: object, model, stream: object.stream === true },
    };
  }
  if (typeof object.model !== 'string' || object.model === '') {
    return { ok: false, message: 'model: the request must name a model' };
  }
  if (kind === 'completions') {
    const parsed = completionRequestSchema.safeParse(object);
    if (!parsed.success) return { ok: false, message: describeFirstIssue(parsed.error.issues) };
    const request = parsed.data;
    return {
      ok: true,
      json: object,
      body: {
        kind,
        json: object,
        model: request.model,
        stream: request.stream === true,
        prompt: request.prompt,
        ...(request.cache_salt ? { cacheSalt: request.cache_salt } : {}),
        ...(typeof request.max_tokens === 'number' ? { maxTokens: request.max_tokens } : {}),
      },
    };
  }
  const parsed = chatCompletionRequestSchema.safeParse(object);
  if (!parsed.success) return { ok: false, message: describeFirstIssue(parsed.error.issues) };
  const request = parsed.data;
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  return {
    ok: true,
    json: object,
    body: {
      kind,
      json: object,
      model: request.model,
      stream: request.stream === true,
      messages: request.messages,
      ...(request.tools ? { tools: request.tools } : {}),
      ...(request.cache_salt ? { cacheSalt: request.cache_salt } : {}),
      ...(typeof maxTokens === 'number' ? { maxTokens } : {}),
    },
  };
}
