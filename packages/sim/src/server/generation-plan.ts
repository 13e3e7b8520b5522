import type { Tokenizer } from '@llmd/core';
import { applyStopStrings, randomResponseText } from '../engine/response-text.js';
import type { SeededRandom } from '../engine/seeded-random.js';

export interface GenerationPlan {
  outputTokenIds: number[];
  /** Text of each output token, for streaming deltas. */
  pieces: string[];
  finishReason: 'stop' | 'length';
}

export interface PlanOptions {
  mode: 'random' | 'echo';
  /** The text echo mode returns (the prompt, or the last user message). */
  echoText: string;
  maxTokens: number;
  ignoreEos: boolean;
  stop: ReadonlyArray<string>;
}

/** Split token ids into per-token text, keeping multi-byte characters whole across token boundaries. */
function tokenPieces(tokenizer: Tokenizer, ids: ReadonlyArray<number>): string[] {
  const pieces = ids.map((id) => tokenizer.decode([id]));
  const whole = tokenizer.decode(ids);
  if (pieces.join('') === whole && !whole.includes('\uFFFD')) return pieces;
  // Slow path: a token boundary splits a character; attribute text as it completes.
  const result: string[] = [];
  let emitted = 0;
  for (let index = 0; index < ids.length; index++) {
    const prefix = tokenizer.decode(ids.slice(0, index + 1));
    const stable = prefix.endsWith('\uFFFD') ? prefix.replace(/\uFFFD+$/, '') : prefix;
    result.push(stable.slice(emitted));
    emitted = Math.max(emitted, stable.length);
  }
  return result;
}

/**
 * Decide what the simulated model says before it starts: the engine then only has to pace it.
 * Random mode stops at a random length unless `ignore_eos`; echo mode returns `echoText`; stop
 * strings cut the text as a real sampler would.
 */
export function planGeneration(
  tokenizer: Tokenizer,
  random: SeededRandom,
  options: PlanOptions,
): GenerationPlan {
  const maxTokens = options.maxTokens;
  let targetLength = maxTokens;
  let text: string;
  if (options.mode === 'echo') {
    text = options.echoText;
  } else {
    if (!options.ignoreEos) targetLength = random.integer(1, maxTokens);
    text = randomResponseText(random, Math.min(targetLength, 1_000_000) * 8 + 16);
  }
  let ids = tokenizer.encode(text, { addSpecialTokens: false });
  let finishReason: 'stop' | 'length' = 'stop';
  if (ids.length >= targetLength) {
    ids = ids.slice(0, targetLength);
    finishReason = targetLength === maxTokens ? 'length' : 'stop';
  }
  if (options.stop.length > 0) {
    const stopped = applyStopStrings(tokenizer.decode(ids), options.stop);
    if (stopped.stopped) {
      ids = tokenizer.encode(stopped.text, { addSpecialTokens: false });
      finishReason = 'stop';
    }
  }
  if (ids.length === 0) {
    // The model emits at least one token (its end-of-sequence), which carries no text.
    return { outputTokenIds: [0], pieces: [''], finishReason: 'stop' };
  }
  return { outputTokenIds: ids, pieces: tokenPieces(tokenizer, ids), finishReason };
}
