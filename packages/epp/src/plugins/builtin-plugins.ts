import type { PluginDefinition } from '../plugin/define-plugin.js';
import { dataLayerPlugins } from './datalayer/data-layer-plugins.js';
import { flowControlPlugins } from './flow-control-plugins.js';
import { openAiParserPlugin } from './parser/openai-parser/openai-parser.js';
import { maxScorePickerPlugin } from './picker/max-score-picker/max-score-picker.js';
import {
  disaggHeadersHandlerPlugin,
  prefillHeaderHandlerPlugin,
} from './pre-request/disagg-headers-handler/disagg-headers-handler.js';
import { prefixPlugins } from './prefix-plugins.js';
import { singleProfileHandlerPlugin } from './profile-handler/single-profile-handler/single-profile-handler.js';
import { routingPlugins } from './routing-plugins.js';
import { utilizationDetectorPlugin } from './saturation-detector/utilization-detector/utilization-detector.js';
import { scorerPlugins } from './scorer-plugins.js';

/**
 * Every plugin type llmd ships, under llm-d's type names. Passed explicitly to
 * `createPluginRegistry`; nothing registers itself on import.
 */
// biome-ignore lint/suspicious/noExplicitAny: definitions of any parameter schema live side by side.
export const builtinPlugins: ReadonlyArray<PluginDefinition<any>> = [
  maxScorePickerPlugin,
  singleProfileHandlerPlugin,
  utilizationDetectorPlugin,
  ...scorerPlugins,
  ...prefixPlugins,
  ...routingPlugins,
  ...flowControlPlugins,
  ...dataLayerPlugins,
  openAiParserPlugin,
  disaggHeadersHandlerPlugin,
  prefillHeaderHandlerPlugin,
];
