/**
 * One hash family as the chain sees it: how to start, how to fold one full block into the parent
 * state, and how to read the 64-bit value published for a state. `State` is whatever the family
 * chains on (vLLM chains on the raw digest, llm-d on the 64-bit key).
 */
export interface ChainStep<State> {
  /** The parent of block 0 (vLLM's NONE_HASH, llm-d's per-model init hash). */
  initialState(): State;
  /**
   * Fold `blockSize` tokens starting at `tokens[start]` into `parent`. `blockIndex` is the block's
   * position in the whole sequence (block 0 carries the cache salt).
   */
  next(parent: State, tokens: ArrayLike<number>, start: number, blockIndex: number): State;
  value(state: State): bigint;
  /** Write the 64-bit value into `words` (little-endian 32-bit halves at 2·index) without a bigint. */
  writeValue(state: State, words: Uint32Array, index: number): void;
}
