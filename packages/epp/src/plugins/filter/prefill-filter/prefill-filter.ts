import { labelNames } from '@llmd/core';
import { definePlugin } from '../../../plugin/define-plugin.js';
import { createLabelValueFilter } from '../by-label/by-label.js';

/** `llm-d.ai/role` values that can serve the prefill stage. */
export const prefillRoles = [
  'prefill',
  'encode-prefill',
  'prefill-decode',
  'both',
  'encode-prefill-decode',
] as const;

/** Keeps prefill-capable endpoints; unlabelled endpoints are dropped. */
export const prefillFilterPlugin = definePlugin({
  type: 'prefill-filter',
  stability: 'Beta',
  create: () => createLabelValueFilter(labelNames.role, prefillRoles, false),
});
