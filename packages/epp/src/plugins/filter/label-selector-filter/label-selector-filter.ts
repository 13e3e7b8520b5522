import { definePlugin } from '../../../plugin/define-plugin.js';
import type { FilterPlugin } from '../../../plugin/plugin-interfaces.js';
import { compileLabelSelector, type LabelSelector, labelSelectorSchema } from './label-selector.js';

/** The parameters are the selector itself (`matchLabels`, `matchExpressions`), as in llm-d. */
export const labelSelectorFilterParameters = labelSelectorSchema.default({});

/** Builds the filter behaviour shared by `label-selector-filter` and its deprecated alias. */
export function createLabelSelectorFilter(selector: LabelSelector): FilterPlugin {
  const matches = compileLabelSelector(selector);
  return {
    filter: (_request, endpoints) => endpoints.filter((candidate) => matches(candidate.endpoint.labels)),
  };
}

/** Keeps endpoints whose labels satisfy a Kubernetes label selector. */
export const labelSelectorFilterPlugin = definePlugin({
  type: 'label-selector-filter',
  stability: 'Beta',
  parameters: labelSelectorFilterParameters,
  create: (selector) => createLabelSelectorFilter(selector),
});
