import {
  type AsyncTokenizer,
  createPrefixCachingTokenizer,
  createTokenizerWorkerPool,
  type Logger,
  loadTokenizer,
} from '@llmd/core';
import type { SchedulingRequest } from '../../../plugin/scheduling-request.js';
import { type PromptTokenBackend, tokenIdPrompt } from './prompt-token-backend.js';

export interface LocalTokenizerBackendOptions {
  /** `tokenizer.json`, a folder holding one, or a Hugging Face model id in the local cache. */
  readonly source: string;
  readonly modelName: string | undefined;
  /** Worker threads; 0 tokenizes on the calling thread (blocks the event loop for long prompts). */
  readonly workers: number;
  /** Reuse the tokenization of a remembered prompt prefix (agentic and multi-turn prompts grow by appending). */
  readonly prefixCache: boolean;
  readonly logger: Logger;
}

function booleanOrUndefined(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

/**
 * A tokenizer from `@llmd/core` in this process: `tokenizer.json` plus the chat template next to it,
 * on worker threads by default so a 100k-token prompt does not stall other requests. Completions
 * text is encoded with the tokenizer's special tokens (as vLLM does); chat requests render the
 * template with the body's `add_generation_prompt`, `chat_template` and `chat_template_kwargs`.
 */
export function createLocalTokenizerBackend(options: LocalTokenizerBackendOptions): PromptTokenBackend {
  let pool: ReturnType<typeof createTokenizerWorkerPool> | undefined;
  let loading: Promise<AsyncTokenizer>;
  if (options.workers > 0) {
    pool = createTokenizerWorkerPool({
      source: options.source,
      size: options.workers,
      prefixCache: options.prefixCache,
      loadOptions: options.modelName ? { modelName: options.modelName } : {},
      logger: options.logger,
    });
    const started = pool;
    loading = started.ready().then(() => started);
  } else {
    loading = loadTokenizer(options.source, { modelName: options.modelName, logger: options.logger }).then(
      (tokenizer) =>
        options.prefixCache ? createPrefixCachingTokenizer(tokenizer, { logger: options.logger }) : tokenizer,
    );
  }
  // Requests report a failed load themselves; this only keeps it from being an unhandled rejection.
  loading.catch(() => {});

  const textTokens = async (
    tokenizer: AsyncTokenizer,
    prompt: string | ReadonlyArray<string>,
    signal: AbortSignal,
  ) => {
    if (typeof prompt === 'string') return tokenizer.tokenize(prompt, { signal });
    const tokens: number[] = [];
    for (const text of prompt) for (const id of await tokenizer.tokenize(text, { signal })) tokens.push(id);
    return tokens;
  };

  return {
    source: 'tokenizer',
    ready: async () => {
      await loading;
    },
    async tokens(request: SchedulingRequest) {
      const body = request.body;
      if (!body || body.kind === 'other') return undefined;
      const passThrough = tokenIdPrompt(request);
      if (passThrough) return passThrough;
      const tokenizer = await loading;
      if (body.kind === 'completions') {
        if (body.prompt === undefined) return undefined;
        return textTokens(tokenizer, body.prompt as string | ReadonlyArray<string>, request.signal);
      }
      if (!body.messages) return undefined;
      const json = body.json;
      return tokenizer.renderChat(body.messages, {
        ...(body.tools ? { tools: body.tools } : {}),
        addGenerationPrompt: booleanOrUndefined(json.add_generation_prompt) ?? true,
        ...(typeof json.chat_template === 'string' ? { chatTemplate: json.chat_template } : {}),
        ...(typeof json.chat_template_kwargs === 'object' && json.chat_template_kwargs !== null
          ? { templateKwargs: json.chat_template_kwargs as Record<string, unknown> }
          : {}),
        signal: request.signal,
      });
    },
    async close() {
      await pool?.close();
    },
  };
}
