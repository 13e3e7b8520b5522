import { z } from 'zod';
import { definePlugin } from '../../../plugin/define-plugin.js';

/**
 * llm-d's old PreRequest plugins that set `x-prefiller-host-port` after a P/D decision. The
 * `disagg-profile-handler` sets the P/D headers itself now (as upstream since v0.10), so these load
 * for compatibility, log the deprecation and do nothing; upstream plans their removal for v0.11.
 */
const legacyParameters = z.object({}).loose().prefault({});

export const disaggHeadersHandlerPlugin = definePlugin({
  type: 'disagg-headers-handler',
  stability: 'Beta',
  deprecated: { replacement: 'disagg-profile-handler', since: 'v0.10' },
  parameters: legacyParameters,
  create: () => ({}),
});

export const prefillHeaderHandlerPlugin = definePlugin({
  type: 'prefill-header-handler',
  stability: 'Beta',
  deprecated: { replacement: 'disagg-profile-handler', since: 'v0.10' },
  parameters: legacyParameters,
  create: () => ({}),
});
