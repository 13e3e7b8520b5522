/**
 * XXH64 (seed 0) on 32-bit halves, without BigInt: the approximate prefix index hashes every
 * prompt block on the request path, and BigInt arithmetic or a native call per block costs far
 * more than a few integer multiplications. Hashes are written as `[low, high]` pairs into
 * caller-owned `Uint32Array`s, so hashing a prompt allocates nothing per block.
 *
 * Intermediate 64-bit values live in a small `Uint32Array` (`state`), not in variables shared
 * between functions: V8 boxes numbers ≥ 2^30 stored outside a function's locals, and that boxing
 * cost more than the arithmetic itself. The stripe loop, which does almost all the work for long
 * blocks, is written out inline for the same reason.
 */

// The XXH64 primes as (high, low) 32-bit halves.
const prime1High = 0x9e3779b1;
const prime1Low = 0x85ebca87;
const prime2High = 0xc2b2ae3d;
const prime2Low = 0x27d4eb4f;
const prime3High = 0x165667b1;
const prime3Low = 0x9e3779f9;
const prime4High = 0x85ebca77;
const prime4Low = 0xc2b2ae63;
const prime5High = 0x27d4eb2f;
const prime5Low = 0x165667c5;
// Initial accumulators for seed 0: prime1 + prime2, prime2, 0 and −prime1 (mod 2^64).
const accumulator1High = 0x60ea27ee;
const accumulator1Low = 0xadc0b5d6;
const accumulator4High = 0x61c8864e;
const accumulator4Low = 0x7a143579;

const twoTo32 = 4294967296;

/** Where the helpers leave a 64-bit value: index 0 low half, index 1 high half. */
type State = Uint32Array;

/** state = (aHigh:aLow × bHigh:bLow) mod 2^64. */
function multiply(state: State, aHigh: number, aLow: number, bHigh: number, bLow: number): void {
  const a0 = aLow & 0xffff;
  const a1 = aLow >>> 16;
  const b0 = bLow & 0xffff;
  const b1 = bLow >>> 16;
  // The full 64-bit product of the low words from 16-bit limbs; every partial sum stays below 2^32.
  const product00 = a0 * b0;
  const middle1 = a1 * b0 + (product00 >>> 16);
  const middle2 = a0 * b1 + (middle1 & 0xffff);
  state[0] = (middle2 << 16) | (product00 & 0xffff);
  state[1] = a1 * b1 + (middle1 >>> 16) + (middle2 >>> 16) + Math.imul(aHigh, bLow) + Math.imul(aLow, bHigh);
}

/** state += high:low. */
function add(state: State, high: number, low: number): void {
  const sumLow = (state[0] as number) + low;
  state[1] = (state[1] as number) + high + (sumLow >= twoTo32 ? 1 : 0);
  state[0] = sumLow;
}

/** state = XXH64 round(accumulator, lane) = rotl(accumulator + lane × prime2, 31) × prime1. */
function round(
  state: State,
  accumulatorHigh: number,
  accumulatorLow: number,
  laneHigh: number,
  laneLow: number,
): void {
  multiply(state, laneHigh, laneLow, prime2High, prime2Low);
  const sumLow = accumulatorLow + (state[0] as number);
  const low = sumLow >>> 0;
  const high = (accumulatorHigh + (state[1] as number) + (sumLow >= twoTo32 ? 1 : 0)) >>> 0;
  // rotl 31 = swap the halves, then rotate right by one.
  multiply(
    state,
    ((low >>> 1) | (high << 31)) >>> 0,
    ((high >>> 1) | (low << 31)) >>> 0,
    prime1High,
    prime1Low,
  );
}

/** state = rotl(hash ^ round(0, lane), 27) × prime1 + prime4: one 8-byte tail lane. */
function mixLane(state: State, hashHigh: number, hashLow: number, laneHigh: number, laneLow: number): void {
  round(state, 0, 0, laneHigh, laneLow);
  const high = (hashHigh ^ (state[1] as number)) >>> 0;
  const low = (hashLow ^ (state[0] as number)) >>> 0;
  multiply(
    state,
    ((high << 27) | (low >>> 5)) >>> 0,
    ((low << 27) | (high >>> 5)) >>> 0,
    prime1High,
    prime1Low,
  );
  add(state, prime4High, prime4Low);
}

/** state = rotl(hash ^ (word × prime1), 23) × prime2 + prime3: one 4-byte tail word. */
function mixWord(state: State, hashHigh: number, hashLow: number, word: number): void {
  multiply(state, 0, word, prime1High, prime1Low);
  const high = (hashHigh ^ (state[1] as number)) >>> 0;
  const low = (hashLow ^ (state[0] as number)) >>> 0;
  multiply(
    state,
    ((high << 23) | (low >>> 9)) >>> 0,
    ((low << 23) | (high >>> 9)) >>> 0,
    prime2High,
    prime2Low,
  );
  add(state, prime3High, prime3Low);
}

/** state = rotl(hash ^ (byte × prime5), 11) × prime1: one tail byte. */
function mixByte(state: State, hashHigh: number, hashLow: number, byte: number): void {
  multiply(state, 0, byte, prime5High, prime5Low);
  const high = (hashHigh ^ (state[1] as number)) >>> 0;
  const low = (hashLow ^ (state[0] as number)) >>> 0;
  multiply(
    state,
    ((high << 11) | (low >>> 21)) >>> 0,
    ((low << 11) | (high >>> 21)) >>> 0,
    prime1High,
    prime1Low,
  );
}

/** state = (hash ^ round(0, accumulator)) × prime1 + prime4: merging one stripe accumulator. */
function mergeAccumulator(
  state: State,
  hashHigh: number,
  hashLow: number,
  accumulatorHigh: number,
  accumulatorLow: number,
): void {
  round(state, 0, 0, accumulatorHigh, accumulatorLow);
  multiply(
    state,
    (hashHigh ^ (state[1] as number)) >>> 0,
    (hashLow ^ (state[0] as number)) >>> 0,
    prime1High,
    prime1Low,
  );
  add(state, prime4High, prime4Low);
}

/** state += rotl(high:low, bits), 0 < bits < 32. */
function addRotated(state: State, high: number, low: number, bits: number): void {
  add(state, ((high << bits) | (low >>> (32 - bits))) >>> 0, ((low << bits) | (high >>> (32 - bits))) >>> 0);
}

/** state = the hash after the stripes: rotated accumulators summed, then each merged in. */
function convergeAccumulators(state: State, accumulators: Uint32Array): void {
  state[0] = 0;
  state[1] = 0;
  addRotated(state, accumulators[1] as number, accumulators[0] as number, 1);
  addRotated(state, accumulators[3] as number, accumulators[2] as number, 7);
  addRotated(state, accumulators[5] as number, accumulators[4] as number, 12);
  addRotated(state, accumulators[7] as number, accumulators[6] as number, 18);
  for (let lane = 0; lane < 8; lane += 2) {
    mergeAccumulator(
      state,
      state[1] as number,
      state[0] as number,
      accumulators[lane + 1] as number,
      accumulators[lane] as number,
    );
  }
}

/** The final avalanche, in place on state. */
function avalanche(state: State): void {
  let high = state[1] as number;
  let low = ((state[0] as number) ^ (high >>> 1)) >>> 0; // h ^= h >> 33
  multiply(state, high, low, prime2High, prime2Low);
  high = state[1] as number;
  low = state[0] as number;
  low = (low ^ ((low >>> 29) | (high << 3))) >>> 0; // h ^= h >> 29
  high = (high ^ (high >>> 29)) >>> 0;
  multiply(state, high, low, prime3High, prime3Low);
  state[0] = (state[0] as number) ^ (state[1] as number); // h ^= h >> 32
}

/**
 * XXH64 with seed 0. One instance owns its scratch memory; it is not re-entrant, which is fine on
 * one JavaScript thread (no method awaits).
 */
export class Xxh64 {
  readonly #state: State = new Uint32Array(2);
  readonly #accumulators = new Uint32Array(8);

  /**
   * Hash of the little-endian uint32 bytes of `ids[start .. start + count)`, written as
   * `out[outIndex] = low`, `out[outIndex + 1] = high`. Ids must be integers in [0, 2^32).
   */
  tokenIds(ids: ArrayLike<number>, start: number, count: number, out: Uint32Array, outIndex: number): void {
    const state = this.#state;
    const end = start + count;
    let index = start;
    if (count >= 8) {
      const accumulators = this.#accumulators;
      accumulators[0] = accumulator1Low;
      accumulators[1] = accumulator1High;
      accumulators[2] = prime2Low;
      accumulators[3] = prime2High;
      accumulators[4] = 0;
      accumulators[5] = 0;
      accumulators[6] = accumulator4Low;
      accumulators[7] = accumulator4High;
      const stripesEnd = start + (count & ~7);
      // 32-byte stripes: lane k of a stripe is ids (2k, 2k + 1), accumulated into accumulator k.
      // This is round() written out, with the prime limbs as literals: the hot loop of the producer.
      for (; index < stripesEnd; index += 8) {
        for (let lane = 0; lane < 8; lane += 2) {
          const laneLow = ids[index + lane] as number;
          const laneHigh = ids[index + lane + 1] as number;
          let a0 = laneLow & 0xffff;
          let a1 = laneLow >>> 16;
          let product00 = a0 * 0xeb4f; // prime2 low limbs: 0x27d4, 0xeb4f
          let middle1 = a1 * 0xeb4f + (product00 >>> 16);
          let middle2 = a0 * 0x27d4 + (middle1 & 0xffff);
          const sumLow = (accumulators[lane] as number) + (((middle2 << 16) | (product00 & 0xffff)) >>> 0);
          const low = sumLow >>> 0;
          const high =
            ((accumulators[lane + 1] as number) +
              a1 * 0x27d4 +
              (middle1 >>> 16) +
              (middle2 >>> 16) +
              Math.imul(laneHigh, prime2Low) +
              Math.imul(laneLow, prime2High) +
              (sumLow >= twoTo32 ? 1 : 0)) >>>
            0;
          const rotatedHigh = (low >>> 1) | (high << 31);
          const rotatedLow = ((high >>> 1) | (low << 31)) >>> 0;
          a0 = rotatedLow & 0xffff;
          a1 = rotatedLow >>> 16;
          product00 = a0 * 0xca87; // prime1 low limbs: 0x85eb, 0xca87
          middle1 = a1 * 0xca87 + (product00 >>> 16);
          middle2 = a0 * 0x85eb + (middle1 & 0xffff);
          accumulators[lane] = (middle2 << 16) | (product00 & 0xffff);
          accumulators[lane + 1] =
            a1 * 0x85eb +
            (middle1 >>> 16) +
            (middle2 >>> 16) +
            Math.imul(rotatedHigh, prime1Low) +
            Math.imul(rotatedLow, prime1High);
        }
      }
      convergeAccumulators(state, accumulators);
    } else {
      state[0] = prime5Low;
      state[1] = prime5High;
    }
    add(state, 0, count * 4); // + input length in bytes
    for (; index + 1 < end; index += 2) {
      mixLane(state, state[1] as number, state[0] as number, ids[index + 1] as number, ids[index] as number);
    }
    if (index < end) mixWord(state, state[1] as number, state[0] as number, ids[index] as number);
    avalanche(state);
    out[outIndex] = state[0] as number;
    out[outIndex + 1] = state[1] as number;
  }

  /**
   * Hash of 16 bytes: `first` then `second`, each a little-endian uint64 given as halves. This is
   * the chain step of the prefix hash, hash(LE64(block content hash) ‖ LE64(previous block hash)).
   */
  twoWords(
    firstHigh: number,
    firstLow: number,
    secondHigh: number,
    secondLow: number,
    out: Uint32Array,
    outIndex: number,
  ): void {
    const state = this.#state;
    // prime5 + 16 bytes of input: no carry, the low half of prime5 is far below 2^32 − 16.
    mixLane(state, prime5High, prime5Low + 16, firstHigh, firstLow);
    mixLane(state, state[1] as number, state[0] as number, secondHigh, secondLow);
    avalanche(state);
    out[outIndex] = state[0] as number;
    out[outIndex + 1] = state[1] as number;
  }

  /** Hash of arbitrary bytes (the chain seed: model name and cache salt), `[low, high]` into `out`. */
  bytes(bytes: Uint8Array, out: Uint32Array, outIndex: number): void {
    const state = this.#state;
    const length = bytes.length;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let index = 0;
    if (length >= 32) {
      const accumulators = this.#accumulators;
      accumulators.set([
        accumulator1Low,
        accumulator1High,
        prime2Low,
        prime2High,
        0,
        0,
        accumulator4Low,
        accumulator4High,
      ]);
      for (; index + 32 <= length; index += 32) {
        for (let lane = 0; lane < 8; lane += 2) {
          round(
            state,
            accumulators[lane + 1] as number,
            accumulators[lane] as number,
            view.getUint32(index + lane * 4 + 4, true),
            view.getUint32(index + lane * 4, true),
          );
          accumulators[lane] = state[0] as number;
          accumulators[lane + 1] = state[1] as number;
        }
      }
      convergeAccumulators(state, accumulators);
    } else {
      state[0] = prime5Low;
      state[1] = prime5High;
    }
    // Lengths of 2^32 bytes and more do not occur for a model name and a salt.
    add(state, 0, length);
    for (; index + 8 <= length; index += 8) {
      mixLane(
        state,
        state[1] as number,
        state[0] as number,
        view.getUint32(index + 4, true),
        view.getUint32(index, true),
      );
    }
    if (index + 4 <= length) {
      mixWord(state, state[1] as number, state[0] as number, view.getUint32(index, true));
      index += 4;
    }
    for (; index < length; index++)
      mixByte(state, state[1] as number, state[0] as number, bytes[index] as number);
    avalanche(state);
    out[outIndex] = state[0] as number;
    out[outIndex + 1] = state[1] as number;
  }
}
