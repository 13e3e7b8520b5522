// ChatMessage and ChatTool are part of the shared vocabulary (src/vocabulary) and exported from there.
export type {
  TemplateChatMessage,
  ValidateChatRequestOptions,
  ValidatedChatRequest,
} from './chat-messages.js';
export { validateChatRequest } from './chat-messages.js';
export type {
  HuggingFaceCacheOptions,
  HuggingFaceSnapshot,
  HuggingFaceSnapshotLookup,
} from './hugging-face-cache.js';
export {
  findHuggingFaceSnapshot,
  huggingFaceModelFolderName,
  resolveHuggingFaceHubCacheDirectory,
} from './hugging-face-cache.js';
export type { EncodedTokens, HuggingFaceTokenizerInit } from './hugging-face-tokenizer.js';
export { HuggingFaceTokenizer } from './hugging-face-tokenizer.js';
export type { LoadTokenizerOptions } from './load-tokenizer.js';
export { loadTokenizer } from './load-tokenizer.js';
export type {
  PrefixCacheOptions,
  PrefixCacheStatistics,
  PrefixCachingTokenizer,
} from './prefix-caching-tokenizer.js';
export { createPrefixCachingTokenizer } from './prefix-caching-tokenizer.js';
export type { PrefixReuseFamily, PrefixReuseProfile, SpecialTokenWrapping } from './prefix-reuse-profile.js';
export { analyzePrefixReuse } from './prefix-reuse-profile.js';
export type { RenderClient, RenderClientOptions } from './render-client.js';
export { createRenderClient } from './render-client.js';
export { extractRenderedTokenIds } from './render-response.js';
export type { ResolveTokenizerSourceOptions, TokenizerFileSet } from './resolve-tokenizer-source.js';
export { resolveTokenizerSource } from './resolve-tokenizer-source.js';
export type {
  AsyncTokenizer,
  ChatTemplateOptions,
  DecodeOptions,
  EncodeOptions,
  RenderChatOptions,
  TokenizeOptions,
  Tokenizer,
} from './tokenizer.js';
export type { TokenizerCache, TokenizerCacheOptions } from './tokenizer-cache.js';
export { createTokenizerCache } from './tokenizer-cache.js';
export type { TokenizerWorkerPool, TokenizerWorkerPoolOptions } from './tokenizer-worker-pool.js';
export { createTokenizerWorkerPool } from './tokenizer-worker-pool.js';
export type { WorkerLoadOptions } from './worker-protocol.js';
