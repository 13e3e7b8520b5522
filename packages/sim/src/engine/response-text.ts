import type { SeededRandom } from './seeded-random.js';

/** Sentences the random mode draws from (the simulator's own text; content is irrelevant to routing). */
const sentences = [
  'The gateway picks the replica that already holds the prompt prefix in its KV cache.',
  'Continuous batching keeps the accelerator busy while requests arrive and leave.',
  'A cache hit skips prefill for the shared part of the prompt.',
  'Queue depth and cache usage together predict how long a request will wait.',
  'Prefill and decode can run on separate pools when the workload is long and chatty.',
  'The simulator reports the same metrics and events as the engine it stands in for.',
  'Routing on prefix locality turns repeated system prompts into faster first tokens.',
  'Each block of sixteen tokens is hashed together with the hash of the block before it.',
];

/** A deterministic stream of text for `--mode random`, long enough for any max_tokens. */
export function randomResponseText(random: SeededRandom, minimumCharacters: number): string {
  let text = '';
  while (text.length < minimumCharacters) {
    text += `${text.length === 0 ? '' : ' '}${sentences[random.integer(0, sentences.length - 1)]}`;
  }
  return text;
}

/** Cut `text` before the first stop string; `stopped` says whether one was found. */
export function applyStopStrings(
  text: string,
  stop: ReadonlyArray<string>,
): { text: string; stopped: boolean } {
  let cut = -1;
  for (const candidate of stop) {
    if (candidate.length === 0) continue;
    const position = text.indexOf(candidate);
    if (position >= 0 && (cut < 0 || position < cut)) cut = position;
  }
  return cut < 0 ? { text, stopped: false } : { text: text.slice(0, cut), stopped: true };
}
