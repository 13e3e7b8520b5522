/**
 * FNV-1a, 64-bit, on two 32-bit halves so the hot loop never touches bigint. The prime is
 * 2^40 + 0x1b3, so `h * prime = h * 0x1b3 + (h << 40)`; every partial product stays below 2^53.
 */
export interface Uint64Parts {
  high: number;
  low: number;
}

export const fnv64aOffsetBasis: Readonly<Uint64Parts> = { high: 0xcbf29ce4, low: 0x84222325 };

export function fnv64a(bytes: Uint8Array, state: Uint64Parts = { ...fnv64aOffsetBasis }): Uint64Parts {
  let high = state.high;
  let low = state.low;
  for (let index = 0; index < bytes.length; index++) {
    low = (low ^ (bytes[index] as number)) >>> 0;
    const lowProduct = low * 0x1b3;
    const carry = Math.floor(lowProduct / 0x100000000);
    high = (high * 0x1b3 + carry + ((low << 8) >>> 0)) >>> 0;
    low = lowProduct >>> 0;
  }
  return { high, low };
}

const conversionWords = new Uint32Array(2);
const conversionValue = new BigUint64Array(conversionWords.buffer);
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** One bigint allocation per value (instead of two, a shift and an or): this runs once per block. */
export function uint64PartsToBigInt(parts: Uint64Parts): bigint {
  conversionWords[littleEndian ? 0 : 1] = parts.low;
  conversionWords[littleEndian ? 1 : 0] = parts.high;
  return conversionValue[0] as bigint;
}

export function bigIntToUint64Parts(value: bigint): Uint64Parts {
  return { high: Number((value >> 32n) & 0xffffffffn), low: Number(value & 0xffffffffn) };
}
