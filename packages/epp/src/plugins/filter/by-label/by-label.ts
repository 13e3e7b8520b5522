import { z } from 'zod';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { FilterPlugin } from '../../../plugin/plugin-interfaces.js';

/**
 * A filter on one label's value: keeps endpoints whose `label` is one of `validValues`, and, with
 * `allowsNoLabel`, endpoints without the label. The role filters (`decode-filter`, …) are this
 * filter with fixed arguments, as in llm-d.
 */
export function createLabelValueFilter(
  label: string,
  validValues: ReadonlyArray<string>,
  allowsNoLabel: boolean,
): FilterPlugin {
  const valid = new Set(validValues);
  return {
    filter: (_request, endpoints) =>
      endpoints.filter(({ endpoint }) => {
        const present = Object.hasOwn(endpoint.labels, label);
        // llm-d reads a missing label as "", so "" in validValues also admits unlabelled endpoints.
        const value = present ? (endpoint.labels[label] as string) : '';
        return valid.has(value) || (!present && allowsNoLabel);
      }),
  };
}

export const byLabelParameters = z
  .object({
    /** Label key to check, e.g. `llm-d.ai/role`. */
    label: z.string().min(1),
    validValues: z.array(z.string()).default([]),
    /** Keep endpoints that do not carry the label at all. */
    allowsNoLabel: z.boolean().default(false),
  })
  .strict();

/** Deprecated single-label filter (llm-d deprecated it in v0.9.0 in favour of `label-selector-filter`). */
export const byLabelPlugin = definePlugin({
  type: 'by-label',
  stability: 'Beta',
  deprecated: { replacement: 'label-selector-filter', since: 'v0.9.0' },
  parameters: byLabelParameters,
  create: ({ label, validValues, allowsNoLabel }) =>
    createLabelValueFilter(label, validValues, allowsNoLabel),
});
