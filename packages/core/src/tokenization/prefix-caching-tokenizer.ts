import { z } from 'zod';
import { parseWithSchema } from '../errors/validation-error.js';
import { type Logger, noopLogger } from '../logging/logger.js';
import { ByteLevelOffsetMeasurer } from './byte-level-offset-measurer.js';
import type { ChatMessage } from './chat-messages.js';
import { chunkChainHashes } from './chunk-chain-hash.js';
import { DecodedOffsetMeasurer } from './decoded-offset-measurer.js';
import type { EncodedTokens, HuggingFaceTokenizer } from './hugging-face-tokenizer.js';
import { analyzePrefixReuse, type PrefixReuseProfile } from './prefix-reuse-profile.js';
import type { Checkpoint, TokenOffsetMeasurer } from './token-offset-measurer.js';
import type {
  AsyncTokenizer,
  ChatTemplateOptions,
  DecodeOptions,
  EncodeOptions,
  RenderChatOptions,
  TokenizeOptions,
  Tokenizer,
} from './tokenizer.js';

export interface PrefixCacheOptions {
  /** Most texts remembered. Default 256. */
  maxEntries?: number | undefined;
  /** Most characters remembered over all texts (token ids add about as many bytes again). Default 8,000,000. */
  maxTotalCharacters?: number | undefined;
  /** Length of the hashed text chunks that index remembered texts. Default 256. */
  chunkCharacters?: number | undefined;
  /** Minimum number of tokens between two checkpoints. Default 64. */
  checkpointSpacingTokens?: number | undefined;
  /** Texts shorter than this are tokenized directly and not remembered. Default 1024. */
  minimumTextCharacters?: number | undefined;
  /**
   * Cached tokens compared with the freshly tokenized ones after a seam; at least half of them must
   * lie inside the shared text for the seam to be used. Default 8.
   */
  seamVerificationTokens?: number | undefined;
  logger?: Logger | undefined;
}

export interface PrefixCacheStatistics {
  /** Texts tokenized through the cache. */
  requests: number;
  /** Texts seen before in full. */
  exactHits: number;
  /** Texts whose tokenization reused a remembered prefix. */
  prefixHits: number;
  /** Eligible texts tokenized from scratch (no usable prefix, or a seam check failed). */
  misses: number;
  /** Texts passed straight to the tokenizer: too short, unsupported tokenizer or special tokens. */
  bypassed: number;
  /**
   * Seams that failed verification: fresh tokens disagreed with the cached ones, or none lay inside
   * the shared text to compare. Each fell back to a cold tokenization.
   */
  seamMismatches: number;
  /** Chunk-hash matches whose text turned out to differ. */
  hashCollisions: number;
  /** Token ids taken from the cache instead of being computed. */
  reusedTokens: number;
  /** Characters the cache had tokenized (whole texts on a miss, suffixes on a hit). */
  tokenizedCharacters: number;
  evictions: number;
  entries: number;
  totalCharacters: number;
}

export interface PrefixCachingTokenizer extends Tokenizer, AsyncTokenizer {
  /** The wrapped tokenizer. */
  readonly base: HuggingFaceTokenizer;
  /** Whether and how prefixes are reused for this tokenizer (with the reason when they are not). */
  readonly profile: PrefixReuseProfile;
  statistics(): PrefixCacheStatistics;
  /** Forget every remembered text (statistics are kept). */
  clear(): void;
}

interface CacheEntry {
  readonly text: string;
  /** Token ids without special tokens. */
  readonly ids: Uint32Array;
  /** Increasing; tokens `[0, checkpoints[i].tokenIndex)` spell `text[0, checkpoints[i].charOffset)`. */
  readonly checkpoints: readonly Checkpoint[];
  readonly chunkHashes: readonly bigint[];
}

interface Reuse {
  entry: CacheEntry;
  /** Length of the common prefix of the new text and the entry's text. */
  sharedLength: number;
}

const optionsSchema = z.object({
  maxEntries: z.number().int().positive().default(256),
  maxTotalCharacters: z.number().int().positive().default(8_000_000),
  chunkCharacters: z.number().int().min(16).default(256),
  checkpointSpacingTokens: z.number().int().min(4).default(64),
  minimumTextCharacters: z.number().int().nonnegative().default(1024),
  seamVerificationTokens: z.number().int().min(1).default(8),
});

// Tokens this close to the first differing character may legitimately differ (the pre-tokenizer
// looks a character or two ahead), so the seam check only compares tokens ending before it.
const verificationGuardCharacters = 8;

/**
 * Wrap an in-process tokenizer so that a text sharing a long prefix with an earlier one is not
 * tokenized from scratch, while the result stays identical to `tokenizer.encode(text)`.
 *
 * Remembered texts are indexed by chained hashes of fixed-size chunks, so finding the one sharing
 * the longest prefix costs time proportional to that prefix. Each remembered text carries
 * checkpoints — token indexes whose character offsets are known — placed only at seam boundaries
 * (a space between letters) where tokenization provably restarts. A new text reuses the cached
 * tokens up to the last checkpoint a safety margin before the first differing character, tokenizes
 * only the rest, and checks that the first fresh tokens equal the cached ones at the seam; any
 * disagreement falls back to a cold tokenization. Tokenizers whose pipeline has no provably safe
 * seam (see `analyzePrefixReuse`) are passed through untouched.
 */
export function createPrefixCachingTokenizer(
  tokenizer: HuggingFaceTokenizer,
  options: PrefixCacheOptions = {},
): PrefixCachingTokenizer {
  const settings = parseWithSchema(
    optionsSchema,
    {
      maxEntries: options.maxEntries,
      maxTotalCharacters: options.maxTotalCharacters,
      chunkCharacters: options.chunkCharacters,
      checkpointSpacingTokens: options.checkpointSpacingTokens,
      minimumTextCharacters: options.minimumTextCharacters,
      seamVerificationTokens: options.seamVerificationTokens,
    },
    'invalid_config',
    'prefix cache options',
  );
  const logger = options.logger ?? noopLogger;
  const profile = analyzePrefixReuse(tokenizer);
  if (!profile.supported) {
    logger.info({ tokenizer: tokenizer.name, reason: profile.reason }, 'prefix tokenization reuse disabled');
  }
  const measurer: TokenOffsetMeasurer | undefined = !profile.supported
    ? undefined
    : profile.family === 'byte-level'
      ? new ByteLevelOffsetMeasurer(tokenizer.addedTokens)
      : new DecodedOffsetMeasurer(
          (ids) => tokenizer.decode(ids, { cleanUpTokenizationSpaces: false }),
          profile.spaceMarker,
        );
  const marginCharacters = profile.supported ? profile.marginCharacters : 0;
  const minimumVerifiedTokens = Math.ceil(settings.seamVerificationTokens / 2);
  const debugEnabled = logger.isLevelEnabled?.('debug') ?? true;

  const statistics: PrefixCacheStatistics = {
    requests: 0,
    exactHits: 0,
    prefixHits: 0,
    misses: 0,
    bypassed: 0,
    seamMismatches: 0,
    hashCollisions: 0,
    reusedTokens: 0,
    tokenizedCharacters: 0,
    evictions: 0,
    entries: 0,
    totalCharacters: 0,
  };
  // Insertion-ordered, so the first element is the least recently used entry.
  const recency = new Set<CacheEntry>();
  const byText = new Map<string, CacheEntry>();
  const byChunkHash = new Map<bigint, Set<CacheEntry>>();

  const encodeRaw = (text: string): EncodedTokens =>
    tokenizer.encodeToTokens(text, { addSpecialTokens: false });

  const touch = (entry: CacheEntry): void => {
    recency.delete(entry);
    recency.add(entry);
  };

  const evict = (entry: CacheEntry): void => {
    recency.delete(entry);
    if (byText.get(entry.text) === entry) byText.delete(entry.text);
    for (const hash of entry.chunkHashes) {
      const entries = byChunkHash.get(hash);
      if (entries === undefined) continue;
      entries.delete(entry);
      if (entries.size === 0) byChunkHash.delete(hash);
    }
    statistics.totalCharacters -= entry.text.length;
    statistics.evictions += 1;
  };

  const remember = (
    text: string,
    ids: readonly number[],
    checkpoints: readonly Checkpoint[],
    chunkHashes: readonly bigint[],
  ): void => {
    if (text.length > settings.maxTotalCharacters) return;
    const entry: CacheEntry = { text, ids: Uint32Array.from(ids), checkpoints, chunkHashes };
    byText.set(text, entry);
    for (const hash of chunkHashes) {
      let entries = byChunkHash.get(hash);
      if (entries === undefined) {
        entries = new Set();
        byChunkHash.set(hash, entries);
      }
      entries.add(entry);
    }
    recency.add(entry);
    statistics.totalCharacters += text.length;
    while (recency.size > settings.maxEntries || statistics.totalCharacters > settings.maxTotalCharacters) {
      const oldest = recency.values().next();
      if (oldest.done === true) break;
      evict(oldest.value);
    }
  };

  /** Offsets past this may be rewritten by the normalizer, so no checkpoint may lie there. */
  const checkpointLimit = (text: string, from: number): number => {
    if (!profile.supported || !profile.normalizesText) return text.length;
    const tail = text.slice(from);
    const normalized = tail.normalize('NFC');
    if (normalized === tail) return text.length;
    let index = 0;
    while (index < tail.length && tail.charCodeAt(index) === normalized.charCodeAt(index)) index += 1;
    // Composition can also rewrite the characters just before the first changed one.
    return Math.max(from, from + index - 16);
  };

  const findReuse = (text: string, hashes: readonly bigint[]): Reuse | undefined => {
    let deepest = -1;
    let candidates: Set<CacheEntry> | undefined;
    for (let index = 0; index < hashes.length; index += 1) {
      const entries = byChunkHash.get(hashes[index] as bigint);
      if (entries === undefined) break;
      deepest = index;
      candidates = entries;
    }
    const entry = candidates?.values().next().value;
    if (entry === undefined) return undefined;
    const matched = (deepest + 1) * settings.chunkCharacters;
    if (!text.startsWith(entry.text.slice(0, matched))) {
      statistics.hashCollisions += 1;
      return undefined;
    }
    // The next chunk differs (or one text ends), so this scan is shorter than a chunk.
    const limit = Math.min(text.length, entry.text.length);
    let sharedLength = matched;
    while (sharedLength < limit && text.charCodeAt(sharedLength) === entry.text.charCodeAt(sharedLength)) {
      sharedLength += 1;
    }
    return { entry, sharedLength };
  };

  const lastCheckpointAtOrBefore = (checkpoints: readonly Checkpoint[], offset: number): number => {
    let low = 0;
    let high = checkpoints.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if ((checkpoints[middle] as Checkpoint).charOffset <= offset) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  };

  /**
   * Tokenize `text` reusing `reuse.entry`, or return undefined when no seam can be trusted. The
   * nearest checkpoint a margin before the first differing character is tried first; if too few of
   * the fresh tokens lie inside the shared text to verify it (very long tokens), the one before.
   */
  const encodeFromPrefix = (
    text: string,
    reuse: Reuse,
    activeMeasurer: TokenOffsetMeasurer,
  ): { ids: number[]; checkpoints: Checkpoint[] } | undefined => {
    const { entry, sharedLength } = reuse;
    const nearest = lastCheckpointAtOrBefore(entry.checkpoints, sharedLength - marginCharacters);
    let checkpointPosition = nearest;
    let checkpoint: Checkpoint | undefined;
    let suffix: EncodedTokens | undefined;
    let comparable = 0;
    for (; checkpointPosition >= 0 && checkpointPosition >= nearest - 1; checkpointPosition -= 1) {
      checkpoint = entry.checkpoints[checkpointPosition] as Checkpoint;
      suffix = encodeRaw(text.slice(checkpoint.charOffset));
      statistics.tokenizedCharacters += text.length - checkpoint.charOffset;
      comparable = activeMeasurer.countTokensBefore({
        text,
        startOffset: checkpoint.charOffset,
        encoded: suffix,
        limitOffset: sharedLength - verificationGuardCharacters,
        maxCount: settings.seamVerificationTokens,
      });
      if (comparable >= minimumVerifiedTokens) break;
    }
    if (checkpoint === undefined || suffix === undefined) return undefined;

    let seamMatches = comparable >= minimumVerifiedTokens;
    for (let index = 0; seamMatches && index < comparable; index += 1) {
      seamMatches = suffix.ids[index] === entry.ids[checkpoint.tokenIndex + index];
    }
    if (!seamMatches) {
      statistics.seamMismatches += 1;
      if (debugEnabled) {
        logger.debug(
          { tokenizer: tokenizer.name, seamOffset: checkpoint.charOffset, sharedLength, comparable },
          'prefix cache seam not verified; tokenizing from scratch',
        );
      }
      return undefined;
    }

    const reusedCount = checkpoint.tokenIndex;
    const ids = new Array<number>(reusedCount + suffix.ids.length);
    for (let index = 0; index < reusedCount; index += 1) ids[index] = entry.ids[index] as number;
    for (let index = 0; index < suffix.ids.length; index += 1) {
      ids[reusedCount + index] = suffix.ids[index] as number;
    }
    statistics.reusedTokens += reusedCount;
    const checkpoints = entry.checkpoints.slice(0, checkpointPosition + 1);
    checkpoints.push(
      ...activeMeasurer.findCheckpoints({
        text,
        startOffset: checkpoint.charOffset,
        encoded: suffix,
        tokenIndexBase: reusedCount,
        spacingTokens: settings.checkpointSpacingTokens,
        stopOffset: checkpointLimit(text, checkpoint.charOffset),
      }),
    );
    return { ids, checkpoints };
  };

  /** Token ids of `text` without special tokens, through the cache. */
  const encodeWithoutSpecialTokens = (text: string): number[] => {
    statistics.requests += 1;
    if (measurer === undefined || text.length < settings.minimumTextCharacters) {
      statistics.bypassed += 1;
      return tokenizer.encode(text, { addSpecialTokens: false });
    }
    const exact = byText.get(text);
    if (exact !== undefined) {
      touch(exact);
      statistics.exactHits += 1;
      statistics.reusedTokens += exact.ids.length;
      return Array.from(exact.ids);
    }

    const hashes = chunkChainHashes(text, settings.chunkCharacters);
    const reuse = findReuse(text, hashes);
    if (reuse !== undefined) {
      const reused = encodeFromPrefix(text, reuse, measurer);
      if (reused !== undefined) {
        touch(reuse.entry);
        statistics.prefixHits += 1;
        remember(text, reused.ids, reused.checkpoints, hashes);
        return reused.ids;
      }
    }

    statistics.misses += 1;
    statistics.tokenizedCharacters += text.length;
    const encoded = encodeRaw(text);
    const checkpoints = measurer.findCheckpoints({
      text,
      startOffset: 0,
      encoded,
      tokenIndexBase: 0,
      spacingTokens: settings.checkpointSpacingTokens,
      stopOffset: checkpointLimit(text, 0),
    });
    remember(text, encoded.ids, checkpoints, hashes);
    return encoded.ids;
  };

  const encode = (text: string, encodeOptions?: EncodeOptions): number[] => {
    if (!(encodeOptions?.addSpecialTokens ?? true)) return encodeWithoutSpecialTokens(text);
    const wrapping = profile.specialTokens;
    if (wrapping === undefined) {
      statistics.requests += 1;
      statistics.bypassed += 1;
      return tokenizer.encode(text, { addSpecialTokens: true });
    }
    const ids = encodeWithoutSpecialTokens(text);
    if (wrapping.prefix.length === 0 && wrapping.suffix.length === 0) return ids;
    return [...wrapping.prefix, ...ids, ...wrapping.suffix];
  };

  return {
    base: tokenizer,
    profile,
    name: tokenizer.name,
    modelName: tokenizer.modelName,
    encode,
    decode: (ids: readonly number[], decodeOptions?: DecodeOptions) => tokenizer.decode(ids, decodeOptions),
    applyChatTemplate: (messages: readonly ChatMessage[], templateOptions?: ChatTemplateOptions) =>
      tokenizer.applyChatTemplate(messages, templateOptions),
    async tokenize(text: string, tokenizeOptions?: TokenizeOptions) {
      tokenizeOptions?.signal?.throwIfAborted();
      return encode(text, tokenizeOptions);
    },
    async renderChat(messages: readonly ChatMessage[], renderOptions?: RenderChatOptions) {
      renderOptions?.signal?.throwIfAborted();
      return encode(tokenizer.applyChatTemplate(messages, renderOptions), { addSpecialTokens: false });
    },
    statistics: () => ({ ...statistics, entries: recency.size }),
    clear() {
      const cleared = recency.size;
      for (const entry of [...recency]) evict(entry);
      // Clearing is not eviction pressure; keep the counter about the budget only.
      statistics.evictions -= cleared;
    },
  };
}
