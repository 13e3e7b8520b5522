import { z } from 'zod';
import { byteQuantitySchema, durationMillisecondsSchema } from './duration.js';

/** `apiVersion` values llm-d accepts; the second is the legacy group (accepted with a warning). */
export const endpointPickerConfigApiVersions = [
  'llm-d.ai/v1alpha1',
  'inference.networking.x-k8s.io/v1alpha1',
] as const;

/** Feature gates llm-d defines, with their defaults. */
export const featureGateDefaults: Readonly<Record<string, boolean>> = {
  flowControl: false,
  haPopulateNonLeaderDatastore: true,
  enableLegacyMetrics: false,
};

/** A request count; upstream types it as a Kubernetes quantity, so `"1000"` is common in YAML. */
const requestCountSchema = z.union([
  z.number().int().min(0),
  z.string().regex(/^\d+$/, 'must be a whole number').transform(Number),
]);

const pluginReferenceSchema = z.object({ pluginRef: z.string().min(1) }).strict();

const pluginSpecSchema = z
  .object({
    name: z.string().min(1).optional(),
    type: z.string().min(1),
    parameters: z.unknown().optional(),
  })
  .strict();

const profilePluginSchema = z
  .object({
    pluginRef: z.string().min(1),
    weight: z.number().min(0).optional(),
  })
  .strict();

const schedulingProfileSchema = z
  .object({
    name: z.string().min(1),
    plugins: z.array(profilePluginSchema).default([]),
  })
  .strict();

const dataLayerSchema = z
  .object({
    injectDefaults: z.boolean().optional(),
    sources: z
      .array(
        z
          .object({
            pluginRef: z.string().min(1),
            extractors: z.array(pluginReferenceSchema).default([]),
          })
          .strict(),
      )
      .default([]),
    discovery: pluginReferenceSchema.optional(),
    peerDiscovery: pluginReferenceSchema.optional(),
    crossReplicaSyncerPluginRef: z.string().optional(),
    crossReplicaSyncInterval: durationMillisecondsSchema.optional(),
  })
  .strict();

const priorityBandSchema = z
  .object({
    priority: z.number().int(),
    maxBytes: byteQuantitySchema.optional(),
    maxRequests: requestCountSchema.optional(),
    fairnessPolicyRef: z.string().optional(),
    orderingPolicyRef: z.string().optional(),
  })
  .strict();

const bandDefaultsSchema = priorityBandSchema.omit({ priority: true }).partial();

export const flowControlConfigSchema = z
  .object({
    maxBytes: byteQuantitySchema.optional(),
    maxRequests: requestCountSchema.optional(),
    defaultRequestTTL: durationMillisecondsSchema.optional(),
    noEndpointRequestTTL: durationMillisecondsSchema.optional(),
    defaultPriorityBand: bandDefaultsSchema.optional(),
    defaultNegativePriorityBand: bandDefaultsSchema.optional(),
    priorityBands: z.array(priorityBandSchema).default([]),
    usageLimitPolicyPluginRef: z.string().optional(),
    saturationDetector: pluginReferenceSchema.optional(),
    enableEviction: z.boolean().optional(),
  })
  .strict();
export type FlowControlConfig = z.output<typeof flowControlConfigSchema>;

/**
 * llm-d's EndpointPickerConfig. Objects are strict, as upstream's decoder is: a misspelt field is an
 * error naming its path rather than a silently ignored setting.
 */
export const endpointPickerConfigSchema = z
  .object({
    apiVersion: z.enum(endpointPickerConfigApiVersions).optional(),
    kind: z.literal('EndpointPickerConfig').optional(),
    featureGates: z.array(z.string().min(1)).default([]),
    plugins: z.array(pluginSpecSchema).default([]),
    schedulingProfiles: z.array(schedulingProfileSchema).default([]),
    dataLayer: dataLayerSchema.optional(),
    flowControl: flowControlConfigSchema.optional(),
    requestHandler: z
      .object({ parsers: z.array(pluginReferenceSchema).default([]) })
      .strict()
      .optional(),
    /** Deprecated top-level form; accepted and ignored in favour of `flowControl.saturationDetector`. */
    saturationDetector: z.record(z.string(), z.unknown()).optional(),
    /** Deprecated top-level form of `requestHandler.parsers`. */
    parser: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export type EndpointPickerConfigInput = z.input<typeof endpointPickerConfigSchema>;
export type EndpointPickerConfig = z.output<typeof endpointPickerConfigSchema>;
