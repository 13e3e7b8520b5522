export {
  type BlockHasher,
  type BlockHasherOptions,
  type StartChainOptions,
  assertTokenIds,
  blockHasherOptionsSchema,
  createBlockHasher,
} from './block-hasher.js';
export { type CborValue, encodeCanonicalCbor } from './cbor-writer.js';
export { engineHashValue } from './engine-hash-step.js';
export {
  type EngineHashAlgorithm,
  type HashAlgorithm,
  type RequestKeyAlgorithm,
  engineHashAlgorithms,
  hashAlgorithms,
  isEngineHashAlgorithm,
  isRequestKeyAlgorithm,
  requestKeyAlgorithms,
} from './hash-algorithm.js';
export type { BlockHashChain } from './hash-chain.js';
