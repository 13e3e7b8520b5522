import { z } from 'zod';
import { parseWithSchema } from '../errors/validation-error.js';
import { type Logger, noopLogger } from '../logging/logger.js';
import type { HuggingFaceTokenizer } from './hugging-face-tokenizer.js';
import { type LoadTokenizerOptions, loadTokenizer } from './load-tokenizer.js';

export interface TokenizerCacheOptions<Value> {
  /** How many tokenizers stay loaded; the least recently used one is dropped beyond that. Default 8. */
  maxEntries?: number | undefined;
  /** Loads one source; defaults to {@link loadTokenizer} with `loadOptions`. */
  load?: ((source: string) => Promise<Value>) | undefined;
  loadOptions?: LoadTokenizerOptions | undefined;
  logger?: Logger | undefined;
}

export interface TokenizerCache<Value> {
  /**
   * The tokenizer for `source`, loading it on first use. Concurrent calls for one source share a single
   * load; a failed load is not remembered, so the next call tries again.
   */
  get(source: string): Promise<Value>;
  has(source: string): boolean;
  /** Forget one source; a value with a `close()` method (a worker pool) is closed. */
  delete(source: string): boolean;
  /** Forget every source, closing values that have a `close()` method. */
  clear(): void;
  readonly size: number;
}

const optionsSchema = z.object({
  maxEntries: z.number().int().positive().default(8),
});

/**
 * A per-model tokenizer cache: an LRU map from source (path or model id) to the loading promise.
 * Tokenizers are large (Qwen3 holds ~150k vocabulary entries and merges), so the bound matters.
 */
export function createTokenizerCache<Value = HuggingFaceTokenizer>(
  options: TokenizerCacheOptions<Value> = {},
): TokenizerCache<Value> {
  const { maxEntries } = parseWithSchema(
    optionsSchema,
    { maxEntries: options.maxEntries },
    'invalid_config',
    'tokenizer cache options',
  );
  const logger = options.logger ?? noopLogger;
  const load =
    options.load ?? ((source: string) => loadTokenizer(source, options.loadOptions) as Promise<Value>);
  // Map iteration order is insertion order, so re-inserting on use keeps the oldest entry first.
  const entries = new Map<string, Promise<Value>>();

  const dispose = (source: string, pending: Promise<Value>): void => {
    pending.then(
      (value) => closeIfClosable(value, source, logger),
      () => {},
    );
  };

  return {
    get(source) {
      const existing = entries.get(source);
      if (existing !== undefined) {
        entries.delete(source);
        entries.set(source, existing);
        return existing;
      }
      const pending = Promise.resolve().then(() => load(source));
      entries.set(source, pending);
      pending.catch(() => {
        // Only forget the failed load if it is still the cached one (not replaced after a delete).
        if (entries.get(source) === pending) entries.delete(source);
      });
      while (entries.size > maxEntries) {
        const oldest = entries.entries().next();
        if (oldest.done === true) break;
        const [oldestSource, oldestPending] = oldest.value;
        entries.delete(oldestSource);
        logger.debug({ source: oldestSource }, 'tokenizer evicted from cache');
        dispose(oldestSource, oldestPending);
      }
      return pending;
    },
    has(source) {
      return entries.has(source);
    },
    delete(source) {
      const pending = entries.get(source);
      if (pending === undefined) return false;
      entries.delete(source);
      dispose(source, pending);
      return true;
    },
    clear() {
      for (const [source, pending] of entries) dispose(source, pending);
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
}

function closeIfClosable(value: unknown, source: string, logger: Logger): void {
  if (typeof value !== 'object' || value === null || !('close' in value)) return;
  const close = (value as { close: unknown }).close;
  if (typeof close !== 'function') return;
  Promise.resolve()
    .then(() => close.call(value))
    .catch((error: unknown) => logger.warn({ source, error }, 'closing an evicted tokenizer failed'));
}
