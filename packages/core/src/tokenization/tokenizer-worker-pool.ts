import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { LlmdError } from '../errors/llmd-error.js';
import { parseWithSchema } from '../errors/validation-error.js';
import { type Logger, noopLogger } from '../logging/logger.js';
import { type ChatMessage, validateChatRequest } from './chat-messages.js';
import type { PrefixCacheOptions } from './prefix-caching-tokenizer.js';
import { resolveWorkerEntry, startWorker } from './resolve-worker-entry.js';
import type { AsyncTokenizer, RenderChatOptions, TokenizeOptions } from './tokenizer.js';
import {
  deserializeError,
  type WorkerLoadOptions,
  type WorkerReply,
  type WorkerRequest,
  type WorkerSetup,
} from './worker-protocol.js';

export interface TokenizerWorkerPoolOptions {
  /** What `loadTokenizer` loads in every worker: a path or a cached Hugging Face model id. */
  source: string;
  /** Number of worker threads. Default: available cores minus one, between 1 and 4. */
  size?: number | undefined;
  loadOptions?: WorkerLoadOptions | undefined;
  /**
   * Give every worker a prefix tokenization cache (true for defaults). Requests are then routed by
   * their first characters, so prompts sharing a prefix meet the worker that has it cached.
   */
  prefixCache?: boolean | Omit<PrefixCacheOptions, 'logger'> | undefined;
  logger?: Logger | undefined;
}

export interface TokenizerWorkerPool extends AsyncTokenizer {
  readonly size: number;
  /** Resolves once every worker has loaded the tokenizer; rejects with the load error otherwise. */
  ready(): Promise<void>;
  /** Terminate the workers; pending and later requests are rejected. */
  close(): Promise<void>;
}

interface PendingRequest {
  resolve: (ids: number[]) => void;
  reject: (error: unknown) => void;
}

interface WorkerSlot {
  readonly index: number;
  readonly worker: Worker;
  readonly pending: Map<number, PendingRequest>;
  loaded: boolean;
  lastError: unknown;
}

const optionsSchema = z.object({
  source: z.string().min(1),
  size: z.number().int().min(1).max(64).optional(),
});

const affinityCharacters = 256;

/**
 * Tokenize on `node:worker_threads` so a 100k-token prompt does not block the event loop. Each
 * worker loads its own copy of the tokenizer (memory grows with `size`); requests go to the least
 * busy worker. A worker that dies is replaced and its in-flight requests fail with `internal`.
 */
export function createTokenizerWorkerPool(options: TokenizerWorkerPoolOptions): TokenizerWorkerPool {
  const parsed = parseWithSchema(
    optionsSchema,
    { source: options.source, size: options.size },
    'invalid_config',
    'tokenizer worker pool options',
  );
  const size = parsed.size ?? Math.max(1, Math.min(4, availableParallelism() - 1));
  const logger = options.logger ?? noopLogger;
  const prefixCache = options.prefixCache === true ? {} : (options.prefixCache ?? false);
  const setup: WorkerSetup = {
    protocol: 'llmd-tokenize-worker/1',
    source: parsed.source,
    loadOptions: options.loadOptions ?? {},
    prefixCache,
  };
  const entry = resolveWorkerEntry(import.meta.url);

  let name = parsed.source;
  let modelName = options.loadOptions?.modelName ?? parsed.source;
  let nextRequestId = 0;
  let closed = false;
  let failure: LlmdError | undefined;
  let resolveReady: () => void = () => {};
  let rejectReady: (error: unknown) => void = () => {};
  const readyPromise = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  // Callers that never await ready() must not see an unhandled rejection; requests report it anyway.
  readyPromise.catch(() => {});
  const slots: WorkerSlot[] = [];

  const rejectAll = (slot: WorkerSlot, error: unknown): void => {
    for (const request of slot.pending.values()) request.reject(error);
    slot.pending.clear();
  };

  const updateReference = (slot: WorkerSlot): void => {
    // A loading or busy worker keeps the process alive; an idle one must not.
    if (!slot.loaded || slot.pending.size > 0) slot.worker.ref();
    else slot.worker.unref();
  };

  const fail = (error: LlmdError): void => {
    if (failure !== undefined) return;
    failure = error;
    rejectReady(error);
    for (const slot of slots) {
      rejectAll(slot, error);
      void slot.worker.terminate();
    }
  };

  const handleReply = (slot: WorkerSlot, reply: WorkerReply): void => {
    if (reply.type === 'ready') {
      slot.loaded = true;
      name = reply.name;
      modelName = reply.modelName;
      updateReference(slot);
      if (slots.every((candidate) => candidate.loaded)) resolveReady();
      return;
    }
    if (reply.type === 'load-failed') {
      fail(deserializeError(reply.error));
      return;
    }
    const request = slot.pending.get(reply.id);
    // A request rejected by its abort signal has already been removed; its late answer is dropped.
    if (request === undefined) return;
    slot.pending.delete(reply.id);
    if (reply.type === 'token-ids') request.resolve(Array.from(reply.ids));
    else request.reject(deserializeError(reply.error));
    updateReference(slot);
  };

  const startSlot = (index: number): WorkerSlot => {
    const worker = startWorker(entry, import.meta.url, {
      workerData: setup,
      name: `llmd-tokenizer-${index}`,
    });
    const slot: WorkerSlot = { index, worker, pending: new Map(), loaded: false, lastError: undefined };
    worker.on('message', (reply: WorkerReply) => handleReply(slot, reply));
    worker.on('error', (error) => {
      slot.lastError = error;
      logger.error({ worker: index, error }, 'tokenizer worker failed');
    });
    worker.on('exit', (exitCode) => {
      if (closed || failure !== undefined || slots[index] !== slot) return;
      const detail = slot.lastError instanceof Error ? `: ${slot.lastError.message}` : '';
      const error = new LlmdError(
        'internal',
        `Tokenizer worker ${index} exited with code ${exitCode}${detail}`,
        {
          cause: slot.lastError,
        },
      );
      if (!slot.loaded) {
        // Dying before the tokenizer loaded would repeat in a replacement: give up.
        fail(error);
        return;
      }
      rejectAll(slot, error);
      logger.warn({ worker: index, exitCode }, 'tokenizer worker exited; starting a replacement');
      slots[index] = startSlot(index);
    });
    return slot;
  };

  for (let index = 0; index < size; index += 1) slots.push(startSlot(index));

  const chooseSlot = (affinityText: string | undefined): WorkerSlot => {
    let best = slots[0] as WorkerSlot;
    for (const slot of slots) if (slot.pending.size < best.pending.size) best = slot;
    if (affinityText === undefined || prefixCache === false) return best;
    const preferred = slots[affinityIndex(affinityText, slots.length)] as WorkerSlot;
    // Stay with the worker holding the prefix unless it is clearly busier than the least busy one.
    return preferred.pending.size <= best.pending.size + 1 ? preferred : best;
  };

  const submit = (
    request: WorkerRequest,
    affinityText: string | undefined,
    signal: AbortSignal | undefined,
  ) => {
    if (closed) return Promise.reject(new LlmdError('internal', 'The tokenizer worker pool is closed'));
    if (failure !== undefined) return Promise.reject(failure);
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    const slot = chooseSlot(affinityText);
    return new Promise<number[]>((resolve, reject) => {
      const onAbort = () => {
        if (slot.pending.delete(request.id)) {
          updateReference(slot);
          reject(signal?.reason);
        }
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      slot.pending.set(request.id, {
        resolve: (ids) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(ids);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      updateReference(slot);
      slot.worker.postMessage(request);
    });
  };

  return {
    size,
    get name() {
      return name;
    },
    get modelName() {
      return modelName;
    },
    ready: () => readyPromise,
    tokenize(text: string, tokenizeOptions?: TokenizeOptions) {
      if (typeof text !== 'string') {
        return Promise.reject(new LlmdError('invalid_argument', 'text to tokenize must be a string'));
      }
      nextRequestId += 1;
      return submit(
        { type: 'tokenize', id: nextRequestId, text, addSpecialTokens: tokenizeOptions?.addSpecialTokens },
        text.slice(0, affinityCharacters),
        tokenizeOptions?.signal,
      );
    },
    renderChat(messages: readonly ChatMessage[], renderOptions: RenderChatOptions = {}) {
      try {
        // Validate in the caller's thread so a bad request fails with a full ValidationError.
        validateChatRequest(messages, renderOptions.tools);
      } catch (error) {
        return Promise.reject(error);
      }
      nextRequestId += 1;
      const first = messages[0];
      return submit(
        {
          type: 'render-chat',
          id: nextRequestId,
          messages,
          tools: renderOptions.tools,
          addGenerationPrompt: renderOptions.addGenerationPrompt,
          chatTemplate: renderOptions.chatTemplate,
          templateKwargs: renderOptions.templateKwargs,
        },
        typeof first?.content === 'string' ? first.content.slice(0, affinityCharacters) : undefined,
        renderOptions.signal,
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      const error = new LlmdError('internal', 'The tokenizer worker pool was closed');
      for (const slot of slots) rejectAll(slot, error);
      rejectReady(error);
      await Promise.all(slots.map((slot) => slot.worker.terminate()));
    },
  };
}

/** A stable worker index for a text's first characters (FNV-1a over UTF-16 code units). */
function affinityIndex(text: string, count: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  }
  return (hash >>> 0) % count;
}
