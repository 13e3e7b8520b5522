import type { PluginDefinition } from '../plugin/define-plugin.js';
import { alwaysDisaggMultimodalDeciderPlugin } from './decider/always-disagg-multimodal-decider/always-disagg-multimodal-decider.js';
import { alwaysDisaggPdDeciderPlugin } from './decider/always-disagg-pd-decider/always-disagg-pd-decider.js';
import { prefixBasedPdDeciderPlugin } from './decider/prefix-based-pd-decider/prefix-based-pd-decider.js';
import { byLabelPlugin } from './filter/by-label/by-label.js';
import { byLabelSelectorPlugin } from './filter/by-label-selector/by-label-selector.js';
import { decodeFilterPlugin } from './filter/decode-filter/decode-filter.js';
import { encodeFilterPlugin } from './filter/encode-filter/encode-filter.js';
import { headerBasedTestingFilterPlugin } from './filter/header-based-testing-filter/header-based-testing-filter.js';
import { labelSelectorFilterPlugin } from './filter/label-selector-filter/label-selector-filter.js';
import { prefillFilterPlugin } from './filter/prefill-filter/prefill-filter.js';
import { prefixCacheAffinityFilterPlugin } from './filter/prefix-cache-affinity-filter/prefix-cache-affinity-filter.js';
import { utilizationFilterPlugin } from './filter/utilization-filter/utilization-filter.js';
import { randomPickerPlugin } from './picker/random-picker/random-picker.js';
import { weightedRandomPickerPlugin } from './picker/weighted-random-picker/weighted-random-picker.js';
import { disaggProfileHandlerPlugin } from './profile-handler/disagg-profile-handler/disagg-profile-handler.js';
import { pdProfileHandlerPlugin } from './profile-handler/pd-profile-handler/pd-profile-handler.js';

/**
 * Filters, pickers, the disaggregation profile handlers and their deciders, under llm-d's type
 * names. Deprecated aliases (`by-label`, `by-label-selector`, `pd-profile-handler`) log a warning
 * naming their replacement when loaded.
 */
// biome-ignore lint/suspicious/noExplicitAny: definitions of any parameter schema live side by side.
export const routingPlugins: ReadonlyArray<PluginDefinition<any>> = [
  labelSelectorFilterPlugin,
  byLabelSelectorPlugin,
  byLabelPlugin,
  decodeFilterPlugin,
  prefillFilterPlugin,
  encodeFilterPlugin,
  utilizationFilterPlugin,
  prefixCacheAffinityFilterPlugin,
  headerBasedTestingFilterPlugin,
  randomPickerPlugin,
  weightedRandomPickerPlugin,
  disaggProfileHandlerPlugin,
  pdProfileHandlerPlugin,
  alwaysDisaggPdDeciderPlugin,
  prefixBasedPdDeciderPlugin,
  alwaysDisaggMultimodalDeciderPlugin,
];
