import { type AttributeKey, attributeKey } from './attribute-map.js';

/**
 * Data keys producers declare in `produces` and consumers in `consumes`, with the typed attribute
 * each one writes. Names follow llm-d's data keys where it has one.
 */

/** Token ids of the prompt (request attribute). */
export interface TokenizedPrompt {
  readonly tokenIds: ReadonlyArray<number>;
  /**
   * `estimate`: 4 bytes of the serialised prompt per pseudo-token (llm-d's default; not valid for
   * precise routing). `tokenizer`: a real tokenizer in-process. `render`: a vLLM render endpoint.
   */
  readonly source: 'estimate' | 'tokenizer' | 'render';
}
export const tokenizedPromptDataKey = 'tokenized-prompt';
export const tokenizedPromptAttribute: AttributeKey<TokenizedPrompt> = attributeKey(tokenizedPromptDataKey);

/** How much of the prompt's prefix an endpoint holds (endpoint attribute). */
export interface PrefixCacheMatchInfo {
  readonly matchBlocks: number;
  readonly totalBlocks: number;
  readonly blockSizeTokens: number;
}
/** Prefix match data is keyed by the producer's instance name, so scorers can choose their source. */
export function prefixCacheMatchDataKey(producerName: string): string {
  return `prefix-cache-match-info/${producerName}`;
}
export function prefixCacheMatchAttribute(producerName: string): AttributeKey<PrefixCacheMatchInfo> {
  return attributeKey(prefixCacheMatchDataKey(producerName));
}

/** Requests and uncached prompt tokens this EPP has in flight on an endpoint (endpoint attribute). */
export interface InFlightLoad {
  readonly requests: number;
  readonly tokens: number;
}
export const inFlightLoadDataKey = 'inflight-load';
export const inFlightLoadAttribute: AttributeKey<InFlightLoad> = attributeKey(inFlightLoadDataKey);
