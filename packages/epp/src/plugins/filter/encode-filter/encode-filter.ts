import { labelNames } from '@llmd/core';
import { definePlugin } from '../../../plugin/define-plugin.js';
import { createLabelValueFilter } from '../by-label/by-label.js';

/** `llm-d.ai/role` values that can serve the encode (multimodal encoder) stage. */
export const encodeRoles = ['encode', 'encode-prefill', 'encode-prefill-decode'] as const;

/** Keeps encode-capable endpoints; unlabelled endpoints are dropped. */
export const encodeFilterPlugin = definePlugin({
  type: 'encode-filter',
  stability: 'Beta',
  create: () => createLabelValueFilter(labelNames.role, encodeRoles, false),
});
