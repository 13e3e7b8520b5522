import { z } from 'zod';
import { InvalidConfigError } from '../../../errors/invalid-config-error.js';
import { definePlugin, type LoadedPlugin, type PluginHandle } from '../../../plugin/define-plugin.js';
import {
  type DisaggregationDeciderPlugin,
  isDisaggregationDecider,
  type PluginBehaviour,
} from '../../../plugin/plugin-interfaces.js';
import { DisaggregationProfileHandler } from './disaggregation-profile-handler.js';

const profileName = z.string().min(1);

/** Flat parameters of earlier releases, mapped to `profiles` / `deciders` with a warning. */
const deprecatedFlatParameters = {
  decodeProfile: 'profiles.decode',
  prefillProfile: 'profiles.prefill',
  encodeProfile: 'profiles.encode',
  prefillDeciderPluginName: 'deciders.prefill',
  deciderPluginName: 'deciders.prefill',
  encodeDeciderPluginName: 'deciders.encode',
  prefixPluginType: undefined,
  prefixPluginName: undefined,
} as const satisfies Record<string, string | undefined>;
type DeprecatedFlatParameter = keyof typeof deprecatedFlatParameters;

export const disaggProfileHandlerParameters = z
  .object({
    profiles: z
      .object({
        decode: profileName.optional(),
        prefill: profileName.optional(),
        encode: profileName.optional(),
      })
      .strict()
      .optional(),
    /** Instance names of other configured plugins that implement a disaggregation decider. */
    deciders: z
      .object({ prefill: profileName.optional(), encode: profileName.optional() })
      .strict()
      .optional(),
    decodeProfile: profileName.optional(),
    prefillProfile: profileName.optional(),
    encodeProfile: profileName.optional(),
    prefillDeciderPluginName: profileName.optional(),
    deciderPluginName: profileName.optional(),
    encodeDeciderPluginName: profileName.optional(),
    /** Never used by llm-d; accepted so old configs load. */
    prefixPluginType: z.string().optional(),
    prefixPluginName: z.string().optional(),
  })
  .strict()
  .superRefine((parameters, context) => {
    const flat = (Object.keys(deprecatedFlatParameters) as DeprecatedFlatParameter[]).filter(
      (field) => parameters[field] !== undefined && deprecatedFlatParameters[field] !== undefined,
    );
    const first = flat[0];
    if (first !== undefined && (parameters.profiles !== undefined || parameters.deciders !== undefined)) {
      context.addIssue({
        code: 'custom',
        path: [first],
        message: `deprecated parameter ${first} cannot be combined with profiles/deciders; use ${deprecatedFlatParameters[first]}`,
      });
    }
    if (
      parameters.deciderPluginName !== undefined &&
      parameters.prefillDeciderPluginName !== undefined &&
      parameters.deciderPluginName !== parameters.prefillDeciderPluginName
    ) {
      context.addIssue({
        code: 'custom',
        path: ['deciderPluginName'],
        message: 'deciderPluginName and prefillDeciderPluginName name different deciders',
      });
    }
  })
  .transform((parameters) => ({
    profiles: {
      decode: parameters.profiles?.decode ?? parameters.decodeProfile ?? 'decode',
      prefill: parameters.profiles?.prefill ?? parameters.prefillProfile ?? 'prefill',
      encode: parameters.profiles?.encode ?? parameters.encodeProfile ?? 'encode',
    },
    deciders: {
      prefill:
        parameters.deciders?.prefill ?? parameters.prefillDeciderPluginName ?? parameters.deciderPluginName,
      encode: parameters.deciders?.encode ?? parameters.encodeDeciderPluginName,
    },
    /** Deprecated fields present in the config, for the load-time warning. */
    deprecatedFields: (Object.keys(deprecatedFlatParameters) as DeprecatedFlatParameter[]).filter(
      (field) => parameters[field] !== undefined,
    ),
  }))
  .prefault({});

/** The parameter the user wrote for a stage's decider, so errors point at their config. */
function parameterFor(
  stage: 'prefill' | 'encode',
  deprecatedFields: ReadonlyArray<DeprecatedFlatParameter>,
): string {
  if (stage === 'encode')
    return deprecatedFields.includes('encodeDeciderPluginName')
      ? 'encodeDeciderPluginName'
      : 'deciders.encode';
  if (deprecatedFields.includes('prefillDeciderPluginName')) return 'prefillDeciderPluginName';
  if (deprecatedFields.includes('deciderPluginName')) return 'deciderPluginName';
  return 'deciders.prefill';
}

/**
 * Looks up a decider by instance name. The error names the parameter so a typo in the config is
 * found at startup, not on the first request.
 */
export function resolveDecider(
  handle: PluginHandle,
  deciderName: string,
  parameter: string,
): DisaggregationDeciderPlugin {
  let loaded: LoadedPlugin;
  try {
    loaded = handle.plugin(deciderName);
  } catch {
    throw new InvalidConfigError(
      `instantiate phase: plugin "${handle.name}": parameters.${parameter}: no plugin named "${deciderName}" is configured (add it to plugins)`,
    );
  }
  if (!isDisaggregationDecider(loaded.behaviour)) {
    throw new InvalidConfigError(
      `instantiate phase: plugin "${handle.name}": parameters.${parameter}: plugin "${deciderName}" (${loaded.type}) is not a disaggregation decider (it does not implement shouldDisaggregate)`,
    );
  }
  return loaded.behaviour;
}

/**
 * The `initialize` hook shared by the disaggregation handler types: resolves the deciders the
 * config names, now that every plugin has been created.
 */
export function initializeDisaggregationProfileHandler(plugin: PluginBehaviour, handle: PluginHandle): void {
  if (!(plugin instanceof DisaggregationProfileHandler)) {
    throw new Error('internal: expected a DisaggregationProfileHandler');
  }
  const { prefill, encode } = plugin.deciderReferences;
  if (prefill === undefined && !plugin.hasPrefillDecider()) {
    handle.logger.info({}, 'no prefill decider configured: P/D disaggregation is disabled');
  }
  plugin.setDeciders({
    ...(prefill ? { prefill: resolveDecider(handle, prefill.name, prefill.parameter) } : {}),
    ...(encode ? { encode: resolveDecider(handle, encode.name, encode.parameter) } : {}),
  });
}

/** P/D and E/P/D profile handler; sets `x-prefiller-host-port` / `x-encoder-hosts-ports` before the request goes out. */
export const disaggProfileHandlerPlugin = definePlugin({
  type: 'disagg-profile-handler',
  stability: 'Beta',
  parameters: disaggProfileHandlerParameters,
  create: ({ profiles, deciders, deprecatedFields }, handle) => {
    for (const field of deprecatedFields) {
      const replacement = deprecatedFlatParameters[field];
      handle.logger.warn(
        { parameter: field, replacement },
        replacement
          ? `deprecated parameter "${field}"; use "${replacement}"`
          : `deprecated parameter "${field}" is ignored`,
      );
    }
    return new DisaggregationProfileHandler({
      name: handle.name,
      profiles,
      logger: handle.logger,
      deciderReferences: {
        ...(deciders.prefill
          ? { prefill: { name: deciders.prefill, parameter: parameterFor('prefill', deprecatedFields) } }
          : {}),
        ...(deciders.encode
          ? { encode: { name: deciders.encode, parameter: parameterFor('encode', deprecatedFields) } }
          : {}),
      },
    });
  },
  initialize: initializeDisaggregationProfileHandler,
});
