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

/**
 * llm-d `cbor-fnv`: key = FNV-64a(CBOR([parent, [tokens…], extra])); the chain root is
 * FNV-64a(CBOR([FNV-64a(seed), null, modelName])). Text-only blocks have a null extra.
 */
function createCborFnvStep(options: RequestKeyOptions): ChainStep<Uint64Parts> {
  const writer = new CborWriter(64 + options.blockSize * 5);
  return {
    initialState() {
      const seedHash = fnv64a(textEncoder.encode(options.seed));
      writer.reset();
      writer.writeArrayHeader(3);
      writer.writeUint64Parts(seedHash.high, seedHash.low);
      writer.writeNull();
      writer.writeText(options.modelName);
      return fnv64a(writer.bytes());
    },
    next(parent, tokens, start) {
      writer.reset();
      writer.writeArrayHeader(3);
      writer.writeUint64Parts(parent.high, parent.low);
      writer.writeArrayHeader(options.blockSize);
      const end = start + options.blockSize;
      for (let index = start; index < end; index++) writer.writeHead(0, tokens[index] as number);
      writer.writeNull();
      return fnv64a(writer.bytes(), { ...fnv64aOffsetBasis });
    },
    value: uint64PartsToBigInt,
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
  };
}

export function createRequestKeyStep(options: RequestKeyOptions): ChainStep<Uint64Parts> | ChainStep<bigint> {
  return options.algorithm === 'cbor-fnv' ? createCborFnvStep(options) : createXxh64Step(options);
}
