export {
  assertTokenIds,
  type BlockHasher,
  type BlockHasherOptions,
  blockHasherOptionsSchema,
  createBlockHasher,
  type StartChainOptions,
} from './block-hasher.js';
export { type CborValue, encodeCanonicalCbor } from './cbor-writer.js';
export { engineHashValue } from './engine-hash-step.js';
export {
  type EngineHashAlgorithm,
  engineHashAlgorithms,
  type HashAlgorithm,
  hashAlgorithms,
  isEngineHashAlgorithm,
  isRequestKeyAlgorithm,
  type RequestKeyAlgorithm,
  requestKeyAlgorithms,
} from './hash-algorithm.js';
export type { BlockHashChain } from './hash-chain.js';
