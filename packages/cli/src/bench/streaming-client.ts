import { performance } from 'node:perf_hooks';
import { SseParser } from './sse-parser.js';
import type { BenchRequest } from './workload.js';

export interface StreamingRequestOptions {
  /** The server or gateway, such as `http://127.0.0.1:8000` (a trailing `/v1` is accepted). */
  baseUrl: string;
  model: string;
  request: BenchRequest;
  /** Abandon the request after this long, counting it as a `timeout` error. Defaults to 300,000. */
  timeoutMilliseconds?: number | undefined;
  /** Aborting cancels the request; it is reported as cancelled, not as an error. */
  signal?: AbortSignal | undefined;
  /** Extra request headers (routing hints, authorization). */
  headers?: Readonly<Record<string, string>> | undefined;
  /**
   * Send vLLM's `ignore_eos: true` so the server generates exactly `maxTokens` tokens, as the
   * inference-perf and GIE benchmark configurations do. Defaults to true.
   */
  ignoreEos?: boolean | undefined;
}

/** Where a failed request is counted: an HTTP status (`"404"`) or one of these. */
export type RequestErrorKey = `${number}` | 'network' | 'timeout' | 'stream';

export interface RequestOutcome {
  requestId: string;
  /** The whole stream arrived, ending with `[DONE]`. */
  ok: boolean;
  /** The run was aborted while the request was in flight; not an error. */
  cancelled: boolean;
  /** The HTTP status, when a response arrived. */
  status: number | undefined;
  /**
   * Set for failures: the HTTP status for non-2xx answers, `network` when the connection failed or
   * broke, `timeout` past the per-request timeout, `stream` for malformed or error events.
   */
  errorKey: RequestErrorKey | undefined;
  errorMessage: string | undefined;
  /** From sending to the first chunk carrying text. */
  timeToFirstTokenMilliseconds: number | undefined;
  /** Gaps between successive text chunks (one per chunk: a chunk may carry several tokens). */
  interTokenLatenciesMilliseconds: number[];
  /** From sending to the end of the stream (or the failure). */
  endToEndMilliseconds: number;
  /** `usage.completion_tokens`, or the number of text chunks when the server sent no usage. */
  outputTokens: number;
  /** `usage.prompt_tokens`, when reported. */
  promptTokens: number | undefined;
  /** `usage.prompt_tokens_details.cached_tokens`, when reported. */
  cachedTokens: number | undefined;
  /** The streamed text (capped at {@link maximumKeptTextCharacters}). */
  text: string;
}

/** Response text kept per request; only multi-turn history uses it. */
export const maximumKeptTextCharacters = 4 * 1024 * 1024;
/** Error bodies are read this far, for the message. */
const maximumErrorBodyCharacters = 64 * 1024;

interface StreamUsage {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  prompt_tokens_details?: { cached_tokens?: unknown } | null;
}

interface StreamChunk {
  error?: unknown;
  usage?: StreamUsage | null;
  choices?: Array<{
    text?: unknown;
    delta?: { content?: unknown; reasoning_content?: unknown; reasoning?: unknown } | null;
  }>;
}

/** `.../v1/completions` or `.../v1/chat/completions` under `baseUrl`. */
export function endpointUrl(baseUrl: string, api: BenchRequest['api']): string {
  let base = baseUrl.replace(/\/+$/, '');
  if (!base.endsWith('/v1')) base += '/v1';
  return `${base}/${api === 'chat' ? 'chat/completions' : 'completions'}`;
}

function requestBody(options: StreamingRequestOptions): Record<string, unknown> {
  const { request } = options;
  const body: Record<string, unknown> = {
    model: options.model,
    max_tokens: request.maxTokens,
    stream: true,
    stream_options: { include_usage: true },
  };
  if (request.api === 'chat') body.messages = request.messages;
  else body.prompt = request.prompt;
  if (options.ignoreEos ?? true) body.ignore_eos = true;
  return body;
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // fetch wraps the socket error (ECONNREFUSED, ECONNRESET) in `cause`.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

/** At most `limit` characters of the body; the rest is not read (the connection is closed later). */
async function readBoundedText(response: Response, limit: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < limit) {
      const read = await reader.read();
      if (read.done) break;
      text += decoder.decode(read.value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
  return text.slice(0, limit);
}

async function readErrorBody(response: Response): Promise<string> {
  try {
    const body = await readBoundedText(response, maximumErrorBodyCharacters);
    try {
      const parsed = JSON.parse(body) as { error?: { message?: unknown }; message?: unknown };
      const message = parsed.error?.message ?? parsed.message;
      if (typeof message === 'string') return message;
    } catch {
      // Not JSON: use the text.
    }
    return body.trim() || response.statusText;
  } catch {
    return response.statusText;
  }
}

class StreamFailure extends Error {}

/**
 * Send one OpenAI-compatible streaming request and measure it. Never throws: every failure is an
 * outcome with an `errorKey`, so one bad request cannot stop a benchmark.
 */
export async function sendStreamingRequest(options: StreamingRequestOptions): Promise<RequestOutcome> {
  const { request } = options;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeoutMilliseconds ?? 300_000);
  const onAbort = () => controller.abort();
  if (options.signal?.aborted) controller.abort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  const startedAt = performance.now();
  let lastTextAt: number | undefined;
  let timeToFirstToken: number | undefined;
  const interTokenLatencies: number[] = [];
  let textChunks = 0;
  let streamedText = '';
  let usage: StreamUsage | undefined;
  let status: number | undefined;
  let sawDone = false;

  const outcome = (failure?: { key: RequestErrorKey; message: string }): RequestOutcome => {
    // An HTTP error that arrived before the abort is still an error.
    const cancelled =
      failure !== undefined && status === undefined && options.signal?.aborted === true && !timedOut;
    return {
      requestId: request.id,
      ok: failure === undefined,
      cancelled,
      status,
      errorKey: cancelled ? undefined : failure?.key,
      errorMessage: failure?.message,
      timeToFirstTokenMilliseconds: timeToFirstToken,
      interTokenLatenciesMilliseconds: interTokenLatencies,
      endToEndMilliseconds: performance.now() - startedAt,
      outputTokens: count(usage?.completion_tokens) ?? textChunks,
      promptTokens: count(usage?.prompt_tokens),
      cachedTokens: count(usage?.prompt_tokens_details?.cached_tokens),
      text: streamedText,
    };
  };

  const handleEvent = (data: string) => {
    if (data === '[DONE]') {
      sawDone = true;
      return;
    }
    let chunk: StreamChunk;
    try {
      chunk = JSON.parse(data) as StreamChunk;
    } catch {
      throw new StreamFailure(`malformed stream event: ${data.slice(0, 200)}`);
    }
    if (chunk.error !== undefined && chunk.error !== null) {
      const message = (chunk.error as { message?: unknown }).message;
      throw new StreamFailure(
        `error event in stream: ${typeof message === 'string' ? message : data.slice(0, 200)}`,
      );
    }
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices?.[0];
    if (choice === undefined) return;
    const content = choice.delta ? text(choice.delta.content) : text(choice.text);
    // Reasoning models stream their thinking first; it is output the client waits through.
    const reasoning = choice.delta
      ? text(choice.delta.reasoning_content) || text(choice.delta.reasoning)
      : '';
    if (content === '' && reasoning === '') return;
    const now = performance.now();
    if (lastTextAt === undefined) timeToFirstToken = now - startedAt;
    else interTokenLatencies.push(now - lastTextAt);
    lastTextAt = now;
    textChunks++;
    if (streamedText.length < maximumKeptTextCharacters) streamedText += content;
  };

  try {
    let response: Response;
    try {
      response = await fetch(endpointUrl(options.baseUrl, request.api), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...options.headers },
        body: JSON.stringify(requestBody(options)),
        signal: controller.signal,
      });
    } catch (error) {
      return outcome({ key: timedOut ? 'timeout' : 'network', message: describeError(error) });
    }
    status = response.status;
    if (!response.ok || response.body === null) {
      const message = response.ok ? 'response has no body' : await readErrorBody(response);
      return outcome({ key: response.ok ? 'stream' : (String(response.status) as `${number}`), message });
    }
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    try {
      for (;;) {
        let read: Awaited<ReturnType<typeof reader.read>>;
        try {
          read = await reader.read();
        } catch (error) {
          return outcome({ key: timedOut ? 'timeout' : 'network', message: describeError(error) });
        }
        if (read.done) break;
        for (const data of parser.push(decoder.decode(read.value, { stream: true }))) handleEvent(data);
      }
      for (const data of parser.push(decoder.decode())) handleEvent(data);
      const last = parser.finish();
      if (last !== undefined) handleEvent(last);
    } finally {
      reader.releaseLock();
    }
    if (!sawDone) return outcome({ key: 'stream', message: 'stream ended before data: [DONE]' });
    return outcome();
  } catch (error) {
    return outcome({ key: 'stream', message: describeError(error) });
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    // Closes the connection of a response abandoned mid-stream; a no-op once the body was read.
    controller.abort();
  }
}
