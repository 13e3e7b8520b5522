import { hash as oneShotHash } from 'node:crypto';
import { xxh3 } from '@node-rs/xxhash';
import { CborWriter, encodeCanonicalCbor } from './cbor-writer.js';
import type { ChainStep } from './chain-step.js';
import type { EngineHashAlgorithm } from './hash-algorithm.js';
import { encodePickle, type PickleValue, pickleTuple } from './pickle-writer.js';

export interface EngineHashOptions {
  algorithm: EngineHashAlgorithm;
  blockSize: number;
  /** `PYTHONHASHSEED` as a string: vLLM hashes the seed's text to get NONE_HASH. */
  seed: string;
  /** LoRA adapter name (vLLM ≥ #27577 hashes the name, not the int id): extra key of every block. */
  loraName?: string | undefined;
  /** `cache_salt` from the request: extra key of block 0 only. */
  cacheSalt?: string | undefined;
}

type DigestFunction = (preimage: Uint8Array) => Uint8Array;

const sha256: DigestFunction = (preimage) => oneShotHash('sha256', preimage, 'buffer');

/** XXH3-128 as python-xxhash's `xxh3_128_digest`: the canonical (big-endian) 16 bytes. */
const xxh3x128: DigestFunction = (preimage) => {
  const value = xxh3.xxh128(preimage);
  const digest = Buffer.allocUnsafe(16);
  digest.writeBigUInt64BE(value >> 64n, 0);
  digest.writeBigUInt64BE(value & 0xffffffffffffffffn, 8);
  return digest;
};

/** The value vLLM publishes in KV events: the digest's last 8 bytes, big-endian. */
export function engineHashValue(digest: Uint8Array): bigint {
  const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength);
  return view.getBigUint64(digest.byteLength - 8);
}

/** The extra-keys tuple of a block as vLLM builds it: LoRA name, then (block 0 only) the salt. */
function extraKeys(options: EngineHashOptions, firstBlock: boolean): string[] | null {
  const keys: string[] = [];
  if (options.loraName !== undefined) keys.push(options.loraName);
  if (firstBlock && options.cacheSalt !== undefined) keys.push(options.cacheSalt);
  return keys.length === 0 ? null : keys;
}

/**
 * vLLM's `hash_block_tokens`: digest((parent_digest, tuple(tokens), extra_keys)), chained on raw
 * digests, NONE_HASH = digest(seed string). CBOR variants encode the 3-tuple as a CBOR array.
 */
export function createEngineHashStep(options: EngineHashOptions): ChainStep<Uint8Array> {
  const digest = options.algorithm.startsWith('sha256') ? sha256 : xxh3x128;
  const noneHash = () =>
    digest(
      options.algorithm.endsWith('_cbor') ? encodeCanonicalCbor(options.seed) : encodePickle(options.seed),
    );
  const value = engineHashValue;
  const writeValue = (digest: Uint8Array, words: Uint32Array, index: number) => {
    const end = digest.length;
    words[index * 2] =
      ((digest[end - 4] as number) << 24) |
      ((digest[end - 3] as number) << 16) |
      ((digest[end - 2] as number) << 8) |
      (digest[end - 1] as number);
    words[index * 2 + 1] =
      ((digest[end - 8] as number) << 24) |
      ((digest[end - 7] as number) << 16) |
      ((digest[end - 6] as number) << 8) |
      (digest[end - 5] as number);
  };

  if (options.algorithm === 'sha256_cbor' || options.algorithm === 'xxhash_cbor') {
    // The extras are constant per position class, so encode them once.
    const firstBlockExtras = encodeCanonicalCbor(extraKeys(options, true));
    const laterBlockExtras = encodeCanonicalCbor(extraKeys(options, false));
    const writer = new CborWriter(64 + options.blockSize * 5);
    return {
      initialState: noneHash,
      value,
      writeValue,
      next(parent, tokens, start, blockIndex) {
        writer.reset();
        writer.writeArrayHeader(3);
        writer.writeBytes(parent);
        writer.writeArrayHeader(options.blockSize);
        const end = start + options.blockSize;
        for (let index = start; index < end; index++) writer.writeHead(0, tokens[index] as number);
        writer.writeRaw(blockIndex === 0 ? firstBlockExtras : laterBlockExtras);
        return digest(writer.bytes());
      },
    };
  }

  return {
    initialState: noneHash,
    value,
    writeValue,
    next(parent, tokens, start, blockIndex) {
      const blockTokens: PickleValue[] = [];
      for (let index = start; index < start + options.blockSize; index++)
        blockTokens.push(tokens[index] as number);
      const extras = extraKeys(options, blockIndex === 0);
      const preimage = encodePickle(
        pickleTuple(parent, { tuple: blockTokens }, extras === null ? null : { tuple: extras }),
      );
      return digest(preimage);
    },
  };
}
