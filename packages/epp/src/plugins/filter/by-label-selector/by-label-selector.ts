import { definePlugin } from '../../../plugin/define-plugin.js';
import {
  createLabelSelectorFilter,
  labelSelectorFilterParameters,
} from '../label-selector-filter/label-selector-filter.js';

/** Deprecated name of `label-selector-filter` (llm-d deprecated it in v0.9.0); same parameters. */
export const byLabelSelectorPlugin = definePlugin({
  type: 'by-label-selector',
  stability: 'Beta',
  deprecated: { replacement: 'label-selector-filter', since: 'v0.9.0' },
  parameters: labelSelectorFilterParameters,
  create: (selector) => createLabelSelectorFilter(selector),
});
