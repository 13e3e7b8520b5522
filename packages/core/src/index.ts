export * from './errors/index.js';
export * from './hashing/index.js';
export { type LogFields, type Logger, type LogLevel, noopLogger } from './logging/logger.js';
export { coreVersion } from './version.js';
export * from './vocabulary/index.js';
export type { AsyncTokenizer, ChatTemplateOptions, DecodeOptions, EncodeOptions, Tokenizer } from './tokenization/tokenizer.js';
export { type LoadTokenizerOptions, loadTokenizer } from './tokenization/load-tokenizer.js';
