import { Xxh64 } from './xxh64.js';

/**
 * llm-d's approximate prefix chain (scheduler.md §7.2), over token ids:
 *
 *   seed         = XXH64(targetModel ‖ cacheSalt)
 *   blockHash[i] = XXH64(LE64(XXH64(raw uint32 LE bytes of block i)) ‖ LE64(blockHash[i − 1]))
 *
 * with blockHash[−1] = seed. The final partial block is hashed too (unlike vLLM), and at most
 * `maxBlocks` blocks are hashed. Hashes come back as `[low, high]` uint32 pairs, block after block.
 */
export class PrefixBlockHasher {
  readonly #xxh64 = new Xxh64();
  readonly #scratch = new Uint32Array(2);
  readonly #encoder = new TextEncoder();

  hash(
    tokenIds: ArrayLike<number>,
    blockSizeTokens: number,
    maxBlocks: number,
    targetModel: string,
    cacheSalt: string | undefined,
  ): Uint32Array {
    const blocks = Math.min(Math.ceil(tokenIds.length / blockSizeTokens), maxBlocks);
    const hashes = new Uint32Array(blocks * 2);
    if (blocks === 0) return hashes;
    const scratch = this.#scratch;
    this.#xxh64.bytes(this.#encoder.encode(targetModel + (cacheSalt ?? '')), scratch, 0);
    let previousLow = scratch[0] as number;
    let previousHigh = scratch[1] as number;
    for (let block = 0; block < blocks; block++) {
      const start = block * blockSizeTokens;
      this.#xxh64.tokenIds(tokenIds, start, Math.min(blockSizeTokens, tokenIds.length - start), scratch, 0);
      this.#xxh64.twoWords(
        scratch[1] as number,
        scratch[0] as number,
        previousHigh,
        previousLow,
        hashes,
        block * 2,
      );
      previousLow = hashes[block * 2] as number;
      previousHigh = hashes[block * 2 + 1] as number;
    }
    return hashes;
  }
}

/** A block hash as an unsigned 64-bit bigint (tests, debugging). */
export function blockHashValue(hashes: Uint32Array, block: number): bigint {
  return (BigInt(hashes[block * 2 + 1] as number) << 32n) | BigInt(hashes[block * 2] as number);
}
