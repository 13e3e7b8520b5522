import { xxh64 } from '@node-rs/xxhash';
import { CborWriter } from './cbor-writer.js';
import type { ChainStep } from './chain-step.js';
import { fnv64a, fnv64aOffsetBasis, type Uint64Parts, uint64PartsToBigInt } from './fnv64a.js';
import type { RequestKeyAlgorithm } from './hash-algorithm.js';

export interface RequestKeyOptions {
  algorithm: RequestKeyAlgorithm;
  blockSize: number;
  /** llm-d's `tokenProcessorConfig.hashSeed` (default ""). */
  seed: string;
  /** The model the request names; a LoRA adapter's name when the request targets one. */
  modelName: string;
}

const textEncoder = new TextEncoder();

/** Write a canonical CBOR head (major type, argument up to 2^32 − 1) at `at`; returns the next offset. */
function writeHead(bytes: Uint8Array, at: number, major: number, value: number): number {
  if (value < 24) {
    bytes[at] = major | value;
    return at + 1;
  }
  if (value <= 0xff) {
    bytes[at] = major | 24;
    bytes[at + 1] = value;
    return at + 2;
  }
  if (value <= 0xffff) {
    bytes[at] = major | 25;
    bytes[at + 1] = value >>> 8;
    bytes[at + 2] = value;
    return at + 3;
  }
  bytes[at] = major | 26;
  bytes[at + 1] = value >>> 24;
  bytes[at + 2] = value >>> 16;
  bytes[at + 3] = value >>> 8;
  bytes[at + 4] = value;
  return at + 5;
}

/**
 * llm-d `cbor-fnv`: key = FNV-64a(CBOR([parent, [tokens…], extra])); the chain root is
 * FNV-64a(CBOR([FNV-64a(seed), null, modelName])). Text-only blocks have a null extra. Each block
 * is encoded into one reused buffer and hashed by a loop on local variables: this is the index's
 * hottest path (every KV event and every scored prompt).
 */
function createCborFnvStep(options: RequestKeyOptions): ChainStep<Uint64Parts> {
  const bytes = new Uint8Array(16 + options.blockSize * 5);
  return {
    initialState() {
      const seedHash = fnv64a(textEncoder.encode(options.seed));
      const writer = new CborWriter(64);
      writer.writeArrayHeader(3);
      writer.writeUint64Parts(seedHash.high, seedHash.low);
      writer.writeNull();
      writer.writeText(options.modelName);
      return fnv64a(writer.bytes());
    },
    next(parent, tokens, start) {
      bytes[0] = 0x83; // array of 3
      let length: number;
      if (parent.high === 0) {
        length = writeHead(bytes, 1, 0, parent.low);
      } else {
        bytes[1] = 0x1b;
        bytes[2] = parent.high >>> 24;
        bytes[3] = parent.high >>> 16;
        bytes[4] = parent.high >>> 8;
        bytes[5] = parent.high;
        bytes[6] = parent.low >>> 24;
        bytes[7] = parent.low >>> 16;
        bytes[8] = parent.low >>> 8;
        bytes[9] = parent.low;
        length = 10;
      }
      length = writeHead(bytes, length, 0x80, options.blockSize);
      const end = start + options.blockSize;
      for (let index = start; index < end; index++)
        length = writeHead(bytes, length, 0, tokens[index] as number);
      bytes[length++] = 0xf6; // null extra
      // FNV-1a over four 16-bit limbs: the prime is 2^40 + 0x1b3, so each step is limb × 0x1b3 plus
      // the state shifted by 40 bits; every intermediate stays a small integer (fast in V8).
      let limb0 = fnv64aOffsetBasis.low & 0xffff;
      let limb1 = fnv64aOffsetBasis.low >>> 16;
      let limb2 = fnv64aOffsetBasis.high & 0xffff;
      let limb3 = fnv64aOffsetBasis.high >>> 16;
      for (let index = 0; index < length; index++) {
        limb0 ^= bytes[index] as number;
        const product0 = limb0 * 0x1b3;
        let product1 = limb1 * 0x1b3;
        let product2 = limb2 * 0x1b3 + (limb0 << 8);
        const product3 = limb3 * 0x1b3 + (limb1 << 8);
        product1 += product0 >>> 16;
        limb0 = product0 & 0xffff;
        product2 += product1 >>> 16;
        limb1 = product1 & 0xffff;
        limb3 = (product3 + (product2 >>> 16)) & 0xffff;
        limb2 = product2 & 0xffff;
      }
      return { high: ((limb3 << 16) | limb2) >>> 0, low: ((limb1 << 16) | limb0) >>> 0 };
    },
    value: uint64PartsToBigInt,
    writeValue(state, words, index) {
      words[index * 2] = state.low;
      words[index * 2 + 1] = state.high;
    },
  };
}

/**
 * llm-d `xxh64`: key = XXH64(parent u64 LE ‖ tokens u32 LE ‖ for each extra string: length u64 LE ‖
 * UTF-8); the root is that function over (XXH64(seed), no tokens, [modelName]).
 */
function createXxh64Step(options: RequestKeyOptions): ChainStep<bigint> {
  const buffer = Buffer.allocUnsafe(8 + options.blockSize * 4);
  return {
    initialState() {
      const seedHash = xxh64(Buffer.from(options.seed, 'utf8'));
      const name = Buffer.from(options.modelName, 'utf8');
      const preimage = Buffer.allocUnsafe(16 + name.length);
      preimage.writeBigUInt64LE(seedHash, 0);
      preimage.writeBigUInt64LE(BigInt(name.length), 8);
      name.copy(preimage, 16);
      return xxh64(preimage);
    },
    next(parent, tokens, start) {
      buffer.writeBigUInt64LE(parent, 0);
      for (let index = 0; index < options.blockSize; index++) {
        buffer.writeUInt32LE(tokens[start + index] as number, 8 + index * 4);
      }
      return xxh64(buffer);
    },
    value: (state) => state,
    writeValue(state, words, index) {
      words[index * 2] = Number(state & 0xffffffffn);
      words[index * 2 + 1] = Number(state >> 32n);
    },
  };
}

export function createRequestKeyStep(options: RequestKeyOptions): ChainStep<Uint64Parts> | ChainStep<bigint> {
  return options.algorithm === 'cbor-fnv' ? createCborFnvStep(options) : createXxh64Step(options);
}
