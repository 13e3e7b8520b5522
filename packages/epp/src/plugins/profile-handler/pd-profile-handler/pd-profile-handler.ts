import { z } from 'zod';
import { prefixCacheMatchDataKey } from '../../../plugin/data-keys.js';
import { definePlugin } from '../../../plugin/define-plugin.js';
import {
  createPrefixBasedDecision,
  defaultPrefixMatchInfoProducerName,
} from '../../decider/prefix-based-pd-decider/prefix-based-pd-decider.js';
import { initializeDisaggregationProfileHandler } from '../disagg-profile-handler/disagg-profile-handler.js';
import { DisaggregationProfileHandler } from '../disagg-profile-handler/disaggregation-profile-handler.js';

/** The old `threshold` counted uncached prompt bytes; llm-d's estimate is 4 bytes per token. */
const bytesPerToken = 4;
const defaultDeciderPluginName = 'prefix-based-pd-decider';

export const pdProfileHandlerParameters = z
  .object({
    decodeProfile: z.string().min(1).default('decode'),
    prefillProfile: z.string().min(1).default('prefill'),
    /** Instance name of the decider plugin (default `prefix-based-pd-decider`). */
    deciderPluginName: z.string().min(1).optional(),
    /** Oldest form: disaggregate when at least this many prompt bytes are uncached (0 = always). */
    threshold: z.number().int().min(0).optional(),
    /** Oldest form: hash block size in characters; block sizes now come from the prefix match data. */
    hashBlockSize: z.number().int().positive().optional(),
    /** Never used by llm-d; accepted so old configs load. */
    prefixPluginType: z.string().optional(),
    prefixPluginName: z.string().optional(),
    /** Which producer's prefix match data the `threshold` mode reads. */
    prefixMatchInfoProducerName: z.string().min(1).default(defaultPrefixMatchInfoProducerName),
    /** Data-parallel rank routing by port rewrite: not supported (only 0 or absent is accepted). */
    primaryPort: z
      .number()
      .int()
      .refine((port) => port === 0, {
        error: 'primaryPort (data-parallel port rewrite) is not supported by llmd; remove it',
      })
      .optional(),
  })
  .strict()
  .superRefine((parameters, context) => {
    if (parameters.threshold !== undefined && parameters.deciderPluginName !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['threshold'],
        message: 'threshold (deprecated) and deciderPluginName are alternatives; configure a decider instead',
      });
    }
  })
  .prefault({});

/**
 * Deprecated P/D-only handler (llm-d: use `disagg-profile-handler`). Runs on the same engine; the
 * old `threshold` form becomes a built-in prefix-based decision with
 * `nonCachedTokens = ceil(threshold / 4)` (threshold 0: always disaggregate, as before).
 */
export const pdProfileHandlerPlugin = definePlugin({
  type: 'pd-profile-handler',
  stability: 'Beta',
  deprecated: { replacement: 'disagg-profile-handler' },
  parameters: pdProfileHandlerParameters,
  create: (parameters, handle) => {
    const { logger } = handle;
    const profiles = { decode: parameters.decodeProfile, prefill: parameters.prefillProfile, encode: '' };
    for (const ignored of ['hashBlockSize', 'prefixPluginType', 'prefixPluginName'] as const) {
      if (parameters[ignored] !== undefined)
        logger.warn({ parameter: ignored }, `deprecated parameter "${ignored}" is ignored`);
    }
    if (parameters.threshold === undefined) {
      return new DisaggregationProfileHandler({
        name: handle.name,
        profiles,
        logger,
        deciderReferences: {
          prefill: {
            name: parameters.deciderPluginName ?? defaultDeciderPluginName,
            parameter: 'deciderPluginName',
          },
        },
      });
    }
    const nonCachedTokens = Math.ceil(parameters.threshold / bytesPerToken);
    logger.warn(
      { threshold: parameters.threshold, nonCachedTokens },
      parameters.threshold === 0
        ? 'deprecated parameter "threshold": 0 means always disaggregate; configure always-disagg-pd-decider instead'
        : `deprecated parameter "threshold" (bytes) mapped to a prefix-based decision with nonCachedTokens ${nonCachedTokens}; configure prefix-based-pd-decider instead`,
    );
    const prefill =
      parameters.threshold === 0
        ? { shouldDisaggregate: () => true }
        : createPrefixBasedDecision({
            nonCachedTokens,
            promptTokens: 0,
            prefixMatchInfoProducerName: parameters.prefixMatchInfoProducerName,
            logger,
          });
    return new DisaggregationProfileHandler({
      name: handle.name,
      profiles,
      logger,
      deciders: { prefill },
      ...(parameters.threshold > 0
        ? { consumes: { required: [prefixCacheMatchDataKey(parameters.prefixMatchInfoProducerName)] } }
        : {}),
    });
  },
  initialize: initializeDisaggregationProfileHandler,
});
