import type { PluginDefinition } from '../plugin/define-plugin.js';
import { approxPrefixCacheProducerPlugin } from './producer/approx-prefix-cache-producer/approx-prefix-cache-producer.js';
import {
  precisePrefixCacheProducerPlugin,
  precisePrefixCacheScorerPlugin,
} from './producer/precise-prefix-cache-producer/precise-prefix-cache-producer.js';
import { tokenizerPlugin, tokenProducerPlugin } from './producer/token-producer/token-producer.js';
import { prefixCacheScorerPlugin } from './scorer/prefix-cache-scorer/prefix-cache-scorer.js';

/**
 * Prefix-cache routing: token production, the approximate and precise prefix-cache producers, and
 * the scorer that reads either. Deprecated aliases are registered next to their replacements.
 */
// biome-ignore lint/suspicious/noExplicitAny: definitions of any parameter schema live side by side.
export const prefixPlugins: ReadonlyArray<PluginDefinition<any>> = [
  tokenProducerPlugin,
  tokenizerPlugin,
  approxPrefixCacheProducerPlugin,
  precisePrefixCacheProducerPlugin,
  precisePrefixCacheScorerPlugin,
  prefixCacheScorerPlugin,
];
