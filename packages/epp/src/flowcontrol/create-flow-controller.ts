import { type Logger, noopLogger } from '@llmd/core';
import type { FlowControlConfig } from '../config/endpoint-picker-config-schema.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import type { LoadedPlugin } from '../plugin/define-plugin.js';
import type { PluginBehaviour } from '../plugin/plugin-interfaces.js';
import {
  type FairnessPolicy,
  isFairnessPolicy,
  isOrderingPolicy,
  isUsageLimitPolicy,
  type OrderingPolicy,
  type UsageLimitPolicy,
} from './flow-control-policies.js';
import { FlowController, type FlowControllerTimers, type PriorityBandSettings } from './flow-controller.js';

/** Plugin names llm-d falls back to when a band names no policy (its injected defaults). */
export const defaultPolicyPluginNames = {
  fairness: 'global-strict-fairness-policy',
  ordering: 'fcfs-ordering-policy',
  usageLimit: 'static-usage-limit-policy',
} as const;

export interface CreateFlowControllerOptions {
  /** `flowControl` of the EndpointPickerConfig; undefined gives llm-d's defaults. */
  readonly config: FlowControlConfig | undefined;
  /** The loaded plugins by instance name (`LoadedEndpointPickerConfig.pluginsByName`). */
  readonly pluginsByName: ReadonlyMap<string, LoadedPlugin>;
  /** Pool saturation from the configured saturation detector. */
  readonly saturation: () => number;
  readonly hasEndpoints: () => boolean;
  readonly logger?: Logger;
  readonly now?: () => number;
  /** See {@link FlowControllerOptions.dispatchedInFlight}. */
  readonly dispatchedInFlight?: () => number;
  readonly maxDispatchesPerCycle?: number;
  readonly cycleIntervalMilliseconds?: number;
  readonly timers?: FlowControllerTimers;
}

/**
 * Builds a {@link FlowController} from the `flowControl` config section: resolves
 * `fairnessPolicyRef`, `orderingPolicyRef` and `usageLimitPolicyPluginRef` to loaded plugins
 * (an error naming the field when a reference is unknown or of the wrong kind). A band without a
 * reference uses the plugin named like llm-d's default type when one is loaded (so a configured
 * `static-usage-limit-policy` with its own `threshold` applies without a ref, as upstream), else
 * a fresh default policy.
 */
export function createFlowController(options: CreateFlowControllerOptions): FlowController {
  const config = options.config;
  const logger = options.logger ?? noopLogger;
  const resolve = <Policy>(
    reference: string | undefined,
    path: string,
    defaultName: string,
    guard: (plugin: PluginBehaviour) => boolean,
    kind: string,
  ): Policy | undefined => {
    if (reference === undefined) {
      const fallback = options.pluginsByName.get(defaultName);
      return fallback && guard(fallback.behaviour) ? (fallback.behaviour as unknown as Policy) : undefined;
    }
    const plugin = options.pluginsByName.get(reference);
    if (!plugin) {
      throw new InvalidConfigError(
        `instantiate phase: ${path}: unknown plugin "${reference}" (not in plugins)`,
        { path },
      );
    }
    if (!guard(plugin.behaviour)) {
      throw new InvalidConfigError(
        `instantiate phase: ${path}: plugin "${plugin.name}" (${plugin.type}) is not a ${kind}`,
        { path },
      );
    }
    return plugin.behaviour as unknown as Policy;
  };
  const bandSettings = (
    band: NonNullable<FlowControlConfig['defaultPriorityBand']> | undefined,
    path: string,
  ): PriorityBandSettings => {
    const fairness = resolve<FairnessPolicy>(
      band?.fairnessPolicyRef,
      `${path}.fairnessPolicyRef`,
      defaultPolicyPluginNames.fairness,
      isFairnessPolicy,
      'fairness policy',
    );
    const ordering = resolve<OrderingPolicy>(
      band?.orderingPolicyRef,
      `${path}.orderingPolicyRef`,
      defaultPolicyPluginNames.ordering,
      isOrderingPolicy,
      'ordering policy',
    );
    return { maxBytes: band?.maxBytes, maxRequests: band?.maxRequests, fairness, ordering };
  };

  const seen = new Set<number>();
  const bands = (config?.priorityBands ?? []).map((band, index) => {
    const path = `flowControl.priorityBands[${index}]`;
    if (seen.has(band.priority)) {
      throw new InvalidConfigError(
        `instantiate phase: ${path}.priority: priority ${band.priority} is configured twice`,
        { path: `${path}.priority` },
      );
    }
    seen.add(band.priority);
    return { priority: band.priority, ...bandSettings(band, path) };
  });
  const usageLimit = resolve<UsageLimitPolicy>(
    config?.usageLimitPolicyPluginRef,
    'flowControl.usageLimitPolicyPluginRef',
    defaultPolicyPluginNames.usageLimit,
    isUsageLimitPolicy,
    'usage limit policy',
  );
  if (config?.enableEviction) {
    logger.warn(
      {},
      'flowControl.enableEviction is not implemented by llmd; in-flight requests are never evicted',
    );
  }

  return new FlowController({
    saturation: options.saturation,
    hasEndpoints: options.hasEndpoints,
    bands,
    bandTemplate: bandSettings(config?.defaultPriorityBand, 'flowControl.defaultPriorityBand'),
    // Negative priorities share the default template unless they have their own.
    negativeBandTemplate: config?.defaultNegativePriorityBand
      ? bandSettings(config.defaultNegativePriorityBand, 'flowControl.defaultNegativePriorityBand')
      : undefined,
    usageLimit,
    maxBytes: config?.maxBytes,
    maxRequests: config?.maxRequests,
    defaultRequestTTLMilliseconds: config?.defaultRequestTTL,
    noEndpointRequestTTLMilliseconds: config?.noEndpointRequestTTL,
    dispatchedInFlight: options.dispatchedInFlight,
    maxDispatchesPerCycle: options.maxDispatchesPerCycle,
    cycleIntervalMilliseconds: options.cycleIntervalMilliseconds,
    now: options.now,
    timers: options.timers,
    logger,
  });
}
