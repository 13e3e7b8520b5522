import { LlmdError, type LlmdErrorCode } from '../errors/llmd-error.js';
import type { ChatMessage, ChatTool } from './chat-messages.js';
import type { HuggingFaceCacheOptions } from './hugging-face-cache.js';
import type { PrefixCacheOptions } from './prefix-caching-tokenizer.js';

// Messages between the worker pool and `tokenize-worker.ts`. Everything here must survive the
// structured clone algorithm: no functions (loggers), no class instances.

export interface WorkerLoadOptions extends Omit<HuggingFaceCacheOptions, 'environment'> {
  environment?: Record<string, string | undefined> | undefined;
  revision?: string | undefined;
  modelName?: string | undefined;
}

export interface WorkerSetup {
  /** Marks workerData as ours, so the worker entry ignores any other use of the file. */
  protocol: 'llmd-tokenize-worker/1';
  source: string;
  loadOptions: WorkerLoadOptions;
  prefixCache: Omit<PrefixCacheOptions, 'logger'> | false;
}

export type WorkerRequest =
  | { type: 'tokenize'; id: number; text: string; addSpecialTokens: boolean | undefined }
  | {
      type: 'render-chat';
      id: number;
      messages: readonly ChatMessage[];
      tools: readonly ChatTool[] | undefined;
      addGenerationPrompt: boolean | undefined;
      chatTemplate: string | undefined;
      templateKwargs: Readonly<Record<string, unknown>> | undefined;
    };

export interface SerializedError {
  code: LlmdErrorCode;
  message: string;
  path: string | undefined;
}

export type WorkerReply =
  | { type: 'ready'; name: string; modelName: string }
  | { type: 'load-failed'; error: SerializedError }
  /** Ids travel as a transferred Uint32Array: no copy of a 100k-token result. */
  | { type: 'token-ids'; id: number; ids: Uint32Array }
  | { type: 'failed'; id: number; error: SerializedError };

export function serializeError(error: unknown): SerializedError {
  if (LlmdError.isInstance(error)) return { code: error.code, message: error.message, path: error.path };
  return {
    code: 'internal',
    message: error instanceof Error ? error.message : String(error),
    path: undefined,
  };
}

/** Rebuild an error from the worker. The class is `LlmdError` whatever it was (a `ValidationError` loses its issues). */
export function deserializeError(error: SerializedError): LlmdError {
  return new LlmdError(error.code, error.message, error.path === undefined ? {} : { path: error.path });
}
