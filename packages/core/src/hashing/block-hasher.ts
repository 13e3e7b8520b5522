import { z } from 'zod';
import { LlmdError } from '../errors/llmd-error.js';
import { parseWithSchema } from '../errors/validation-error.js';
import type { ChainStep } from './chain-step.js';
import { createEngineHashStep } from './engine-hash-step.js';
import { bigIntToUint64Parts } from './fnv64a.js';
import { type HashAlgorithm, hashAlgorithms, isEngineHashAlgorithm } from './hash-algorithm.js';
import { type BlockHashChain, createHashChain } from './hash-chain.js';
import { createRequestKeyStep } from './request-key-step.js';

const maximumTokenId = 0xffffffff;
/** Pickled blocks stay within one 64 KiB frame up to this size (at most 7 bytes per token id). */
const maximumPickleBlockSize = 8192;
const maximumRequestKey = 0xffffffffffffffffn;
/** `hashPacked` writes 32-bit halves low word first, which is the BigUint64Array layout on little-endian hosts. */
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export const blockHasherOptionsSchema = z
  .object({
    algorithm: z
      .string()
      .refine((value): value is HashAlgorithm => (hashAlgorithms as ReadonlyArray<string>).includes(value), {
        error: (issue) =>
          `unknown hash algorithm "${String(issue.input)}"; expected one of ${hashAlgorithms.join(', ')}`,
      }),
    blockSize: z
      .number()
      .int()
      .positive()
      .max(1 << 20),
    /**
     * vLLM: `PYTHONHASHSEED` (required: an unset seed means a random NONE_HASH per engine process).
     * llm-d: `hashSeed` (default "").
     */
    seed: z.string().optional(),
    /** vLLM algorithms: LoRA adapter name, hashed into every block. llm-d algorithms: replaces the model name. */
    loraName: z.string().optional(),
    /** vLLM algorithms only: `cache_salt`, hashed into block 0. */
    cacheSalt: z.string().optional(),
    /** llm-d algorithms only: the model name folded into the chain root (default ""). */
    modelName: z.string().optional(),
  })
  .strict();

export type BlockHasherOptions = z.input<typeof blockHasherOptionsSchema> & { algorithm: HashAlgorithm };

export interface StartChainOptions {
  /**
   * Continue an existing chain: the parent block's raw digest (vLLM algorithms: 32 bytes for sha256,
   * 16 for xxhash) or its 64-bit key (llm-d algorithms, where 0 means no parent, as in llm-d). Block
   * indices then start at `firstBlockIndex` (default 1), so no cache salt.
   */
  parent?: Uint8Array | bigint;
  firstBlockIndex?: number;
}

/** Hashes token sequences into per-block 64-bit values with one fixed configuration. */
export interface BlockHasher {
  readonly algorithm: HashAlgorithm;
  readonly blockSize: number;
  /**
   * One value per full block of `tokens` (the partial tail is not hashed); with `parent`, the
   * blocks continue that chain. Cheaper than a chain when the prefix will not be extended.
   */
  hash(tokens: ArrayLike<number>, options?: StartChainOptions): bigint[];
  /** The same values packed in a `BigUint64Array`, computed without a bigint per block (lookups). */
  hashPacked(tokens: ArrayLike<number>, options?: StartChainOptions): BigUint64Array;
  /** A new incremental chain (see {@link BlockHashChain}). */
  startChain(options?: StartChainOptions): BlockHashChain;
}

/** Throws `invalid_token_ids` unless every id is an integer in [0, 2^32 − 1]. */
export function assertTokenIds(tokens: ArrayLike<number>): void {
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index] as number;
    if (token >>> 0 !== token) {
      throw new LlmdError(
        'invalid_token_ids',
        `token id at index ${index} is ${String(token)}: token ids must be integers from 0 to ${maximumTokenId}`,
        { path: `[${index}]` },
      );
    }
  }
}

export function createBlockHasher(options: BlockHasherOptions): BlockHasher {
  const parsed = parseWithSchema(
    blockHasherOptionsSchema,
    options,
    'invalid_argument',
    'block hasher options',
  );
  const algorithm = parsed.algorithm as HashAlgorithm;
  const blockSize = parsed.blockSize;
  let step: ChainStep<unknown>;
  /** The chain state a caller's parent stands for; undefined when the chain starts at the root. */
  let parentFromCaller: (parent: Uint8Array | bigint) => unknown;

  if (isEngineHashAlgorithm(algorithm)) {
    if (parsed.seed === undefined) {
      throw new LlmdError(
        'invalid_argument',
        `${algorithm} needs the engine's PYTHONHASHSEED as seed: without it vLLM picks a random NONE_HASH per process`,
        { path: 'seed' },
      );
    }
    if (parsed.modelName !== undefined) {
      throw new LlmdError('invalid_argument', `modelName does not enter vLLM's ${algorithm} block hashes`, {
        path: 'modelName',
      });
    }
    if ((algorithm === 'sha256' || algorithm === 'xxhash') && blockSize > maximumPickleBlockSize) {
      // CPython splits pickles over 64 KiB into several frames, which this encoder does not model.
      throw new LlmdError(
        'invalid_argument',
        `${algorithm} (pickle) supports block sizes up to ${maximumPickleBlockSize} tokens`,
        { path: 'blockSize' },
      );
    }
    step = createEngineHashStep({
      algorithm,
      blockSize,
      seed: parsed.seed,
      loraName: parsed.loraName,
      cacheSalt: parsed.cacheSalt,
    }) as ChainStep<unknown>;
    const digestSize = algorithm.startsWith('sha256') ? 32 : 16;
    parentFromCaller = (parent) => {
      if (!(parent instanceof Uint8Array)) {
        throw new LlmdError(
          'invalid_argument',
          `${algorithm} chains continue from the parent's raw digest bytes`,
          {
            path: 'parent',
          },
        );
      }
      // A digest of another size (a truncated 8-byte event hash, another algorithm's digest) would
      // still hash, into values no engine ever publishes.
      if (parent.length !== digestSize) {
        throw new LlmdError(
          'invalid_argument',
          `${algorithm} parent digests are ${digestSize} bytes, got ${parent.length}`,
          { path: 'parent' },
        );
      }
      return parent;
    };
  } else {
    if (parsed.cacheSalt !== undefined) {
      throw new LlmdError('invalid_argument', `cacheSalt does not enter llm-d's ${algorithm} request keys`, {
        path: 'cacheSalt',
      });
    }
    step = createRequestKeyStep({
      algorithm,
      blockSize,
      seed: parsed.seed ?? '',
      modelName: parsed.loraName ?? parsed.modelName ?? '',
    }) as ChainStep<unknown>;
    parentFromCaller = (parent) => {
      if (typeof parent !== 'bigint') {
        throw new LlmdError('invalid_argument', `${algorithm} chains continue from the parent's 64-bit key`, {
          path: 'parent',
        });
      }
      // Out-of-range keys would be silently wrapped to 64 bits (or rejected by Buffer deep inside).
      if (parent < 0n || parent > maximumRequestKey) {
        throw new LlmdError(
          'invalid_argument',
          `${algorithm} parent keys are unsigned 64-bit integers, got ${parent}`,
          { path: 'parent' },
        );
      }
      // llm-d reads an empty (zero) parent key as the start of a sequence, chaining from the init hash.
      if (parent === 0n) return undefined;
      return algorithm === 'cbor-fnv' ? bigIntToUint64Parts(parent) : parent;
    };
  }

  // NONE_HASH / the init hash depend only on the configuration: compute once per hasher.
  const root = step.initialState();
  const chainStart = (chainOptions: StartChainOptions): { state: unknown; firstBlockIndex: number } => {
    const parent = chainOptions.parent === undefined ? undefined : parentFromCaller(chainOptions.parent);
    if (parent === undefined) return { state: root, firstBlockIndex: 0 };
    return { state: parent, firstBlockIndex: chainOptions.firstBlockIndex ?? 1 };
  };
  const startChain = (chainOptions: StartChainOptions = {}): BlockHashChain => {
    const start = chainStart(chainOptions);
    return createHashChain(step, blockSize, assertTokenIds, start.state, start.firstBlockIndex);
  };

  return {
    algorithm,
    blockSize,
    startChain,
    hash(tokens, chainOptions = {}) {
      assertTokenIds(tokens);
      const start = chainStart(chainOptions);
      let state = start.state;
      const firstBlockIndex = start.firstBlockIndex;
      const blockCount = Math.floor(tokens.length / blockSize);
      const values = new Array<bigint>(blockCount);
      for (let block = 0; block < blockCount; block++) {
        state = step.next(state, tokens, block * blockSize, firstBlockIndex + block);
        values[block] = step.value(state);
      }
      return values;
    },
    hashPacked(tokens, chainOptions = {}) {
      if (!littleEndian) return BigUint64Array.from(this.hash(tokens, chainOptions));
      assertTokenIds(tokens);
      const start = chainStart(chainOptions);
      let state = start.state;
      const firstBlockIndex = start.firstBlockIndex;
      const blockCount = Math.floor(tokens.length / blockSize);
      const packed = new BigUint64Array(blockCount);
      const words = new Uint32Array(packed.buffer);
      for (let block = 0; block < blockCount; block++) {
        state = step.next(state, tokens, block * blockSize, firstBlockIndex + block);
        step.writeValue(state, words, block);
      }
      return packed;
    },
  };
}
