import { z } from 'zod';
import { LlmdError } from '../errors/llmd-error.js';
import { parseWithSchema } from '../errors/validation-error.js';
import { type Logger, noopLogger } from '../logging/logger.js';
import { type ChatMessage, validateChatRequest } from './chat-messages.js';
import { extractRenderedTokenIds } from './render-response.js';
import type { AsyncTokenizer, RenderChatOptions, TokenizeOptions } from './tokenizer.js';

export interface RenderClientOptions {
  /** Where vLLM (`vllm serve` with render enabled, or `vllm launch render`) listens: `http://host:8000`. */
  baseUrl: string;
  /** The model name sent in every request. */
  model: string;
  /** Per-request timeout in milliseconds. Default 5000, as upstream llm-d uses for text. */
  timeoutMs?: number | undefined;
  /** Extra request headers, such as an `authorization` header. */
  headers?: Readonly<Record<string, string>> | undefined;
  /** Replaces the global `fetch` (tests, proxies). */
  fetch?: typeof fetch | undefined;
  logger?: Logger | undefined;
}

export interface RenderClient extends AsyncTokenizer {
  readonly completionsUrl: string;
  readonly chatUrl: string;
}

const optionsSchema = z.object({
  baseUrl: z.url({ protocol: /^https?$/ }),
  model: z.string().min(1),
  timeoutMs: z.number().int().positive().default(5000),
});

const maxErrorBodyCharacters = 300;

/**
 * A tokenization backend that asks vLLM: `POST /v1/completions/render` for text and
 * `POST /v1/chat/completions/render` for chat requests. The engine renders with its own tokenizer and
 * template code, so the ids match what it will cache exactly (including multimodal placeholders,
 * which the in-process tokenizer cannot produce). Failures throw `LlmdError` `render_failed` naming
 * the URL; note that vLLM answers 404 when the render endpoints are not enabled.
 */
export function createRenderClient(options: RenderClientOptions): RenderClient {
  const { baseUrl, model, timeoutMs } = parseWithSchema(
    optionsSchema,
    { baseUrl: options.baseUrl, model: options.model, timeoutMs: options.timeoutMs },
    'invalid_config',
    'render client options',
  );
  const logger = options.logger ?? noopLogger;
  const fetchImplementation = options.fetch ?? fetch;
  // Accept a base URL with or without the OpenAI `/v1` suffix.
  const root = baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
  const completionsUrl = `${root}/v1/completions/render`;
  const chatUrl = `${root}/v1/chat/completions/render`;

  const post = async (url: string, body: Record<string, unknown>, signal: AbortSignal | undefined) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    const startedAt = performance.now();
    let response: Response;
    let text: string;
    try {
      response = await fetchImplementation(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...options.headers },
        body: JSON.stringify(body),
        signal: combined,
      });
      text = await response.text();
    } catch (error) {
      if (signal?.aborted === true) throw signal.reason;
      const reason = timeout.aborted ? `timed out after ${timeoutMs} ms` : `failed: ${describeError(error)}`;
      throw new LlmdError('render_failed', `Render request POST ${url} ${reason}`, { cause: error });
    }
    if (!response.ok) {
      const excerpt =
        text.length > maxErrorBodyCharacters ? `${text.slice(0, maxErrorBodyCharacters)}…` : text;
      const hint = response.status === 404 ? ' (are the vLLM render endpoints enabled?)' : '';
      throw new LlmdError(
        'render_failed',
        `Render request POST ${url} returned ${response.status} ${response.statusText}${hint}: ${excerpt}`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new LlmdError('render_failed', `Render response from ${url} is not JSON`, { cause: error });
    }
    const ids = extractRenderedTokenIds(parsed);
    if (ids === undefined) {
      throw new LlmdError('render_failed', `Render response from ${url} holds no token_ids`);
    }
    logger.debug(
      { url, tokens: ids.length, milliseconds: Math.round(performance.now() - startedAt) },
      'prompt rendered',
    );
    return ids;
  };

  return {
    name: root,
    modelName: model,
    completionsUrl,
    chatUrl,
    tokenize(text: string, tokenizeOptions?: TokenizeOptions) {
      const body: Record<string, unknown> = { model, prompt: text };
      if (tokenizeOptions?.addSpecialTokens !== undefined) {
        body.add_special_tokens = tokenizeOptions.addSpecialTokens;
      }
      return post(completionsUrl, body, tokenizeOptions?.signal);
    },
    async renderChat(messages: readonly ChatMessage[], renderOptions: RenderChatOptions = {}) {
      // Validate here so a bad request fails with the field path instead of an opaque 400 from vLLM;
      // the original messages are sent, since vLLM understands content parts we would flatten.
      const request = validateChatRequest(messages, renderOptions.tools, { allowNonTextParts: true });
      const body: Record<string, unknown> = {
        model,
        messages,
        add_generation_prompt: renderOptions.addGenerationPrompt ?? true,
      };
      if (request.tools !== undefined && request.tools.length > 0) body.tools = renderOptions.tools;
      if (renderOptions.chatTemplate !== undefined) body.chat_template = renderOptions.chatTemplate;
      if (renderOptions.templateKwargs !== undefined)
        body.chat_template_kwargs = renderOptions.templateKwargs;
      return post(chatUrl, body, renderOptions.signal);
    },
  };
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici reports connection failures as "fetch failed" with the useful part in `cause`.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
