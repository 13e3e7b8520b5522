import { extractRenderedTokenIds, LlmdError } from '@llmd/core';
import type { SchedulingRequest } from '../../../plugin/scheduling-request.js';
import type { PromptTokenBackend } from './prompt-token-backend.js';

export interface VllmRenderBackendOptions {
  /** Base URL of `vllm serve` (render enabled) or `vllm launch render`, with or without `/v1`. */
  readonly url: string;
  /** Used when a request names no model. */
  readonly modelName: string | undefined;
  /** Completions and text-only chat requests. */
  readonly timeoutMilliseconds: number;
  /** Chat requests with image, video or audio parts (the engine decodes the media). */
  readonly multimodalTimeoutMilliseconds: number;
  /** Replaces the global `fetch` (tests, proxies). */
  readonly fetch?: typeof fetch;
}

const maxErrorBodyCharacters = 300;
const multimodalPartTypes = new Set(['image_url', 'video_url', 'audio_url', 'input_audio']);

function hasMultimodalParts(request: SchedulingRequest): boolean {
  for (const message of request.body?.messages ?? []) {
    if (!Array.isArray(message.content)) continue;
    for (const part of message.content) if (multimodalPartTypes.has(part.type)) return true;
  }
  return false;
}

/**
 * llm-d's `vllm` backend: the request body is posted as the client sent it (model rewritten to the
 * target model) to `/v1/completions/render` or `/v1/chat/completions/render`, so vLLM renders the
 * prompt with its own tokenizer, chat template and multimodal processor — exactly the ids it will
 * cache. A 404 usually means the render endpoints are not enabled on that vLLM.
 */
export function createVllmRenderBackend(options: VllmRenderBackendOptions): PromptTokenBackend {
  const root = options.url.replace(/\/+$/, '').replace(/\/v1$/, '');
  const completionsUrl = `${root}/v1/completions/render`;
  const chatUrl = `${root}/v1/chat/completions/render`;
  const fetchImplementation = options.fetch ?? fetch;

  const render = async (
    url: string,
    body: Record<string, unknown>,
    timeoutMilliseconds: number,
    signal: AbortSignal,
  ) => {
    const timeout = AbortSignal.timeout(timeoutMilliseconds);
    let text: string;
    let response: Response;
    try {
      response = await fetchImplementation(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.any([signal, timeout]),
      });
      text = await response.text();
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const reason = timeout.aborted
        ? `timed out after ${timeoutMilliseconds} ms`
        : `failed: ${(error as Error).message}`;
      throw new LlmdError('render_failed', `render request POST ${url} ${reason}`, { cause: error });
    }
    if (!response.ok) {
      const excerpt =
        text.length > maxErrorBodyCharacters ? `${text.slice(0, maxErrorBodyCharacters)}…` : text;
      const hint = response.status === 404 ? ' (are the vLLM render endpoints enabled?)' : '';
      throw new LlmdError(
        'render_failed',
        `render request POST ${url} returned ${response.status}${hint}: ${excerpt}`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new LlmdError('render_failed', `render response from ${url} is not JSON`, { cause: error });
    }
    // Completions render answers one entry per prompt; several prompts are concatenated.
    const entries =
      Array.isArray(parsed) && parsed.length > 0 && typeof parsed[0] === 'object' ? parsed : [parsed];
    const tokens: number[] = [];
    for (const entry of entries) {
      const ids = extractRenderedTokenIds(entry);
      if (ids === undefined)
        throw new LlmdError('render_failed', `render response from ${url} holds no token_ids`);
      for (const id of ids) tokens.push(id);
    }
    return tokens;
  };

  return {
    source: 'render',
    async tokens(request) {
      const body = request.body;
      if (!body || body.kind === 'other') return undefined;
      const model = request.targetModel || body.model || options.modelName;
      const payload = model ? { ...body.json, model } : { ...body.json };
      if (body.kind === 'completions') {
        return render(completionsUrl, payload, options.timeoutMilliseconds, request.signal);
      }
      const timeout = hasMultimodalParts(request)
        ? Math.max(options.timeoutMilliseconds, options.multimodalTimeoutMilliseconds)
        : options.timeoutMilliseconds;
      return render(chatUrl, payload, timeout, request.signal);
    },
  };
}
