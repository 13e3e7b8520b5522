import { definePlugin } from '../../../plugin/define-plugin.js';

/** Decider that always approves disaggregation (testing, or pools where P/D always pays off). */
export const alwaysDisaggPdDeciderPlugin = definePlugin({
  type: 'always-disagg-pd-decider',
  stability: 'Beta',
  create: () => ({ shouldDisaggregate: () => true }),
});
