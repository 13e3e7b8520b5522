import type { ChainStep } from './chain-step.js';

/**
 * An incremental block-hash chain. Appending tokens hashes only the blocks they complete, so a
 * prompt that extends an earlier one (a follow-up turn, decode tokens, a longer prompt sharing a
 * prefix) reuses the earlier hashes. `fork()` branches a shared prefix cheaply.
 */
export interface BlockHashChain<State = unknown> {
  readonly blockSize: number;
  /** Tokens appended so far, including the partial tail. */
  readonly tokenCount: number;
  /** One 64-bit value per full block, in order (the chain owns this array: do not mutate it). */
  readonly hashes: ReadonlyArray<bigint>;
  /** Chain state per full block (raw digests for vLLM algorithms, keys for llm-d ones). */
  readonly states: ReadonlyArray<State>;
  /** Hash the blocks completed by `tokens`; returns only the new 64-bit values. */
  append(tokens: ArrayLike<number>): bigint[];
  /**
   * Hash `tokens`, a whole sequence whose start may already be in this chain: the common full blocks
   * are kept, the rest is rehashed. Returns all 64-bit values for `tokens` (a copy). Invalid ids
   * throw before anything changes, with the index in `tokens`.
   */
  extendTo(tokens: ArrayLike<number>): bigint[];
  /** An independent copy sharing nothing mutable. */
  fork(): BlockHashChain<State>;
}

export function createHashChain<State>(
  step: ChainStep<State>,
  blockSize: number,
  validate: (tokens: ArrayLike<number>) => void,
  parent: State = step.initialState(),
  firstBlockIndex = 0,
): BlockHashChain<State> {
  return new HashChainImplementation(step, blockSize, validate, parent, firstBlockIndex, [], [], []);
}

class HashChainImplementation<State> implements BlockHashChain<State> {
  constructor(
    private readonly step: ChainStep<State>,
    readonly blockSize: number,
    private readonly validate: (tokens: ArrayLike<number>) => void,
    private readonly root: State,
    /** Position of this chain's first block in the whole sequence (non-zero for continuations). */
    private readonly firstBlockIndex: number,
    readonly states: State[],
    readonly hashes: bigint[],
    /** Every full-block token, kept so `extendTo` can find the common prefix. */
    private readonly blockTokens: number[],
    /** Tokens after the last full block. */
    private tail: number[] = [],
  ) {}

  get tokenCount(): number {
    return this.blockTokens.length + this.tail.length;
  }

  append(tokens: ArrayLike<number>): bigint[] {
    this.validate(tokens);
    return this.appendValid(tokens, 0);
  }

  extendTo(tokens: ArrayLike<number>): bigint[] {
    // Validate everything before truncating: a bad id late in the input must leave the chain intact
    // and be reported at its index in `tokens`, not in the rehashed remainder.
    this.validate(tokens);
    const blockSize = this.blockSize;
    let commonBlocks = 0;
    const comparableBlocks = Math.min(this.hashes.length, Math.floor(tokens.length / blockSize));
    outer: for (; commonBlocks < comparableBlocks; commonBlocks++) {
      const start = commonBlocks * blockSize;
      for (let index = start; index < start + blockSize; index++) {
        if (this.blockTokens[index] !== tokens[index]) break outer;
      }
    }
    this.truncate(commonBlocks);
    this.appendValid(tokens, commonBlocks * blockSize);
    // A copy: the caller may keep or change it, and the next append must not change it under them.
    return this.hashes.slice();
  }

  fork(): BlockHashChain<State> {
    return new HashChainImplementation(
      this.step,
      this.blockSize,
      this.validate,
      this.root,
      this.firstBlockIndex,
      [...this.states],
      [...this.hashes],
      [...this.blockTokens],
      [...this.tail],
    );
  }

  private truncate(blocks: number): void {
    this.states.length = blocks;
    this.hashes.length = blocks;
    this.blockTokens.length = blocks * this.blockSize;
    this.tail = [];
  }

  /** Append `tokens` from `start` on; the ids are already validated. Returns the new values. */
  private appendValid(tokens: ArrayLike<number>, start: number): bigint[] {
    const firstNew = this.hashes.length;
    const blockSize = this.blockSize;
    let offset = start;
    if (this.tail.length > 0) {
      const needed = blockSize - this.tail.length;
      if (tokens.length - offset < needed) {
        for (let index = offset; index < tokens.length; index++) this.tail.push(tokens[index] as number);
        return [];
      }
      for (let index = offset; index < offset + needed; index++) this.tail.push(tokens[index] as number);
      this.pushBlock(this.tail, 0);
      this.tail = [];
      offset += needed;
    }
    while (offset + blockSize <= tokens.length) {
      this.pushBlock(tokens, offset);
      offset += blockSize;
    }
    for (let index = offset; index < tokens.length; index++) this.tail.push(tokens[index] as number);
    return this.hashes.slice(firstNew);
  }

  private pushBlock(tokens: ArrayLike<number>, start: number): void {
    const blockIndex = this.states.length;
    const parent = blockIndex === 0 ? this.root : (this.states[blockIndex - 1] as State);
    const state = this.step.next(parent, tokens, start, this.firstBlockIndex + blockIndex);
    this.states.push(state);
    this.hashes.push(this.step.value(state));
    for (let index = start; index < start + this.blockSize; index++)
      this.blockTokens.push(tokens[index] as number);
  }
}
