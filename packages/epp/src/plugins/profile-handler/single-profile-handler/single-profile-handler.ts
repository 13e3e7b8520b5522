import { definePlugin } from '../../../plugin/define-plugin.js';

/** Runs the one configured profile once; injected when the config has a single profile. */
export const singleProfileHandlerPlugin = definePlugin({
  type: 'single-profile-handler',
  stability: 'Stable',
  create: () => ({
    pickProfiles(_request, profiles, resultsSoFar) {
      if (resultsSoFar.size > 0) return [];
      const first = profiles.keys().next();
      return first.done ? [] : [first.value];
    },
    processResults(_request, results) {
      const first = results.keys().next();
      return { primaryProfileName: first.done ? '' : first.value };
    },
  }),
});
