import { z } from 'zod';
import { durationMillisecondsSchema } from '../../../config/duration.js';
import {
  type TokenizedPrompt,
  tokenizedPromptAttribute,
  tokenizedPromptDataKey,
} from '../../../plugin/data-keys.js';
import { definePlugin, type PluginHandle } from '../../../plugin/define-plugin.js';
import type { ClosablePlugin, DataProducerPlugin } from '../../../plugin/plugin-interfaces.js';
import { Xxh64 } from '../approx-prefix-cache-producer/xxh64.js';
import { estimatePromptTokens } from './estimate-prompt-tokens.js';
import { createLocalTokenizerBackend } from './local-tokenizer-backend.js';
import type { PromptTokenBackend } from './prompt-token-backend.js';
import { createVllmRenderBackend } from './vllm-render-backend.js';

/** llm-d's render timeouts: 5 s for text, 30 s when the engine must process media. */
const defaultTimeoutMilliseconds = 5000;
const defaultMultimodalTimeoutMilliseconds = 30_000;

export const tokenProducerParameters = z
  .object({
    /** The served model: the render requests' model when a request names none; the tokenizer to load when `tokenizer.path` is unset. */
    modelName: z.string().min(1).optional(),
    /** Render through vLLM (`vllm serve` with render enabled, or `vllm launch render`). Also selected by `modelName` alone, as in llm-d. */
    vllm: z
      .object({
        url: z.url({ protocol: /^https?$/ }).default('http://localhost:8000'),
        /** Completions and text-only chat requests. */
        timeout: durationMillisecondsSchema.default(defaultTimeoutMilliseconds),
        /** Chat requests with image, video or audio parts. */
        mmTimeout: durationMillisecondsSchema.default(defaultMultimodalTimeoutMilliseconds),
      })
      .strict()
      .optional(),
    /** Ours: tokenize in the EPP with a local tokenizer from @llmd/core (no render service needed). */
    tokenizer: z
      .object({
        /** `tokenizer.json`, a folder holding one, or a model id in the local Hugging Face cache; default `modelName`. */
        path: z.string().min(1).optional(),
        /** Worker threads (0 = on the event loop, which long prompts then stall). */
        workers: z.number().int().min(0).max(64).default(1),
        /** Reuse the tokenization of remembered prompt prefixes. */
        prefixCache: z.boolean().default(true),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((parameters, context) => {
    if (parameters.tokenizer && parameters.vllm) {
      context.addIssue({
        code: 'custom',
        path: ['tokenizer'],
        message: 'configure either "vllm" or "tokenizer", not both',
      });
    }
    if (
      parameters.tokenizer &&
      parameters.tokenizer.path === undefined &&
      parameters.modelName === undefined
    ) {
      context.addIssue({
        code: 'custom',
        path: ['tokenizer', 'path'],
        message:
          'give tokenizer.path (a tokenizer.json or its folder) or modelName (a model in the local Hugging Face cache)',
      });
    }
  })
  .prefault({});
export type TokenProducerParameters = z.output<typeof tokenProducerParameters>;

/** The plugin object; `backend` names the selected backend for diagnostics. */
export interface TokenProducer extends DataProducerPlugin, ClosablePlugin {
  readonly backend: 'estimate' | 'tokenizer' | 'vllm';
  /** Resolves once the backend can serve (a local tokenizer has loaded). */
  ready(): Promise<void>;
}

interface BackendChoice {
  readonly name: TokenProducer['backend'];
  readonly backend: PromptTokenBackend;
  readonly timeoutMilliseconds: number | undefined;
}

function chooseBackend(parameters: TokenProducerParameters, handle: PluginHandle): BackendChoice {
  if (parameters.tokenizer) {
    return {
      name: 'tokenizer',
      backend: createLocalTokenizerBackend({
        source: parameters.tokenizer.path ?? (parameters.modelName as string),
        modelName: parameters.modelName,
        workers: parameters.tokenizer.workers,
        prefixCache: parameters.tokenizer.prefixCache,
        logger: handle.logger,
      }),
      timeoutMilliseconds: defaultTimeoutMilliseconds,
    };
  }
  if (parameters.vllm || parameters.modelName) {
    const vllm = parameters.vllm ?? {
      url: 'http://localhost:8000',
      timeout: defaultTimeoutMilliseconds,
      mmTimeout: defaultMultimodalTimeoutMilliseconds,
    };
    return {
      name: 'vllm',
      backend: createVllmRenderBackend({
        url: vllm.url,
        modelName: parameters.modelName,
        timeoutMilliseconds: vllm.timeout,
        multimodalTimeoutMilliseconds: vllm.mmTimeout,
      }),
      timeoutMilliseconds: Math.max(vllm.timeout, vllm.mmTimeout),
    };
  }
  const hasher = new Xxh64();
  return {
    name: 'estimate',
    backend: { source: 'estimate', tokens: (request) => estimatePromptTokens(request.body, hasher) },
    timeoutMilliseconds: undefined,
  };
}

function createTokenProducer(parameters: TokenProducerParameters, handle: PluginHandle): TokenProducer {
  const { name, backend, timeoutMilliseconds } = chooseBackend(parameters, handle);
  const publish = (
    request: Parameters<TokenProducer['produce']>[0],
    tokenIds: ReadonlyArray<number> | undefined,
  ) => {
    if (tokenIds === undefined) return;
    const tokenized: TokenizedPrompt = { tokenIds, source: backend.source };
    request.attributes.set(tokenizedPromptAttribute, tokenized);
  };
  return {
    backend: name,
    produces: [tokenizedPromptDataKey],
    ready: async () => {
      await backend.ready?.();
    },
    ...(timeoutMilliseconds !== undefined ? { produceTimeoutMilliseconds: timeoutMilliseconds } : {}),
    produce(request): void | Promise<void> {
      // Idempotent: an earlier producer (or an earlier run) already tokenized this request.
      if (request.attributes.has(tokenizedPromptAttribute)) return undefined;
      const tokenIds = backend.tokens(request);
      if (tokenIds instanceof Promise) return tokenIds.then((resolved) => publish(request, resolved));
      publish(request, tokenIds);
      return undefined;
    },
    async close() {
      await backend.close?.();
    },
  };
}

/**
 * llm-d's `token-producer`: writes the prompt's token ids (`tokenized-prompt`) for prefix-cache
 * producers, deciders and load producers. Backends: `estimate` (default, 4 bytes per pseudo-token,
 * no service), `vllm` (the engine's render endpoints; exact ids) and, ours, `tokenizer` (a local
 * Hugging Face tokenizer, exact for text when it is the model's tokenizer and template). Created
 * with the `estimate` backend when a consumer needs tokens and nobody configured a producer.
 */
export const tokenProducerPlugin = definePlugin({
  type: 'token-producer',
  stability: 'Stable',
  parameters: tokenProducerParameters,
  defaultProducerFor: [tokenizedPromptDataKey],
  create: (parameters, handle) => createTokenProducer(parameters, handle),
  // The loader waits for a local tokenizer to load, so a bad path fails at startup, not per request.
  initialize: (plugin) => (plugin as TokenProducer).ready(),
});

/** llm-d's legacy type name, deprecated in favour of `token-producer`. */
export const tokenizerPlugin = definePlugin({
  ...tokenProducerPlugin,
  type: 'tokenizer',
  deprecated: { replacement: 'token-producer' },
  defaultProducerFor: [],
});
