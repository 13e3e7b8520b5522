/**
 * A small seeded pseudo-random generator. Benchmarks must produce the same prompts and the same
 * arrival gaps for the same seed on every machine, which `Math.random` cannot give.
 */
export interface SeededRandom {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [minimum, maximum], both inclusive. */
  integer(minimum: number, maximum: number): number;
}

/** Murmur3's 32-bit finaliser: spreads every input bit over the whole word. */
function mix32(value: number): number {
  let mixed = value >>> 0;
  mixed = Math.imul(mixed ^ (mixed >>> 16), 0x85ebca6b);
  mixed = Math.imul(mixed ^ (mixed >>> 13), 0xc2b2ae35);
  return (mixed ^ (mixed >>> 16)) >>> 0;
}

/**
 * A seed for one independent stream, derived from a base seed and a path of integers (a group, a
 * user, a turn). Content keyed this way does not depend on the order requests are generated in.
 */
export function deriveSeed(seed: number, ...path: readonly number[]): number {
  let state = mix32(Math.trunc(seed) ^ 0x9e3779b9);
  for (const part of path) state = mix32(state ^ mix32(Math.trunc(part) + 0x7f4a7c15));
  return state;
}

/** A generator advancing a 32-bit counter by the golden-ratio increment and mixing each step. */
export function createSeededRandom(seed: number): SeededRandom {
  let state = deriveSeed(seed);
  const nextUint32 = () => {
    state = (state + 0x9e3779b9) >>> 0;
    return mix32(state);
  };
  return {
    next: () => nextUint32() / 0x1_0000_0000,
    integer: (minimum, maximum) =>
      minimum + Math.floor((nextUint32() / 0x1_0000_0000) * (maximum - minimum + 1)),
  };
}
