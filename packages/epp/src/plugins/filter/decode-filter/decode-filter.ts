import { labelNames } from '@llmd/core';
import { definePlugin } from '../../../plugin/define-plugin.js';
import { createLabelValueFilter } from '../by-label/by-label.js';

/** `llm-d.ai/role` values that can serve the decode stage. */
export const decodeRoles = ['decode', 'prefill-decode', 'both', 'encode-prefill-decode'] as const;

/**
 * Keeps decode-capable endpoints. Unlabelled endpoints are kept too: a pool without roles is an
 * aggregated pool whose every pod decodes.
 */
export const decodeFilterPlugin = definePlugin({
  type: 'decode-filter',
  stability: 'Beta',
  create: () => createLabelValueFilter(labelNames.role, decodeRoles, true),
});
