import type { TokenizedPrompt } from '../../../plugin/data-keys.js';
import type { SchedulingRequest } from '../../../plugin/scheduling-request.js';

/** One way of turning a request's prompt into token ids. */
export interface PromptTokenBackend {
  readonly source: TokenizedPrompt['source'];
  /** Token ids of the prompt, or undefined when the body has no prompt this backend understands. */
  tokens(
    request: SchedulingRequest,
  ): ReadonlyArray<number> | undefined | Promise<ReadonlyArray<number> | undefined>;
  /** Resolves once the backend can serve (a tokenizer loaded); rejects with the load error. */
  ready?(): Promise<void>;
  close?(): Promise<void>;
}

/**
 * Completions token-id prompts (one list or several) as one flat list; undefined for text prompts.
 * A single list is returned as it is, not copied: the body was validated (every item a token id)
 * and is never mutated, and copying 100k ids element by element cost more than a millisecond.
 */
export function tokenIdPrompt(request: SchedulingRequest): ReadonlyArray<number> | undefined {
  const prompt = request.body?.kind === 'completions' ? request.body.prompt : undefined;
  if (prompt === undefined || typeof prompt === 'string' || prompt.length === 0) return undefined;
  if (typeof prompt[0] === 'string') return undefined;
  if (typeof prompt[0] === 'number') return prompt as ReadonlyArray<number>;
  const tokens: number[] = [];
  for (const item of prompt as ReadonlyArray<number | ReadonlyArray<number>>) {
    if (typeof item === 'number') tokens.push(item);
    else for (const id of item) tokens.push(id);
  }
  return tokens;
}
