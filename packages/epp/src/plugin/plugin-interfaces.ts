import type { Endpoint } from '@llmd/core';
import type { EndpointState, SchedulingEndpoint } from './endpoint-state.js';
import type { SchedulingRequest } from './scheduling-request.js';

/**
 * The capabilities a plugin can have. A plugin object implements any subset of these methods (one
 * plugin may be a producer and a pre-request hook at once, as in llm-d); the framework detects
 * capabilities with the `is…` guards below, the way Go detects interface satisfaction.
 */

/** An endpoint with its weighted total score from one profile run. */
export interface ScoredEndpoint {
  readonly endpoint: SchedulingEndpoint;
  readonly score: number;
}

export interface ProfileRunResult {
  readonly profileName: string;
  /** Picked endpoints, primary first (more than one when the picker's `maxNumOfEndpoints` > 1). */
  readonly targets: ReadonlyArray<SchedulingEndpoint>;
  /** Weighted total per candidate that reached the picker, keyed by `ip:port`. */
  readonly totals: ReadonlyMap<string, number>;
  /** Clamped raw score per scorer name and endpoint key, for debugging and `--emit-endpoint-scores`. */
  readonly scoresByScorer: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

/** The result of one scheduling cycle. */
export interface SchedulingResult {
  readonly primaryProfileName: string;
  /** Per profile: its result, or `null` when its filters left no endpoint. */
  readonly profileResults: ReadonlyMap<string, ProfileRunResult | null>;
  /** Where the request goes: the primary profile's first target. */
  readonly primary: SchedulingEndpoint;
  /** The primary profile's other targets, in order; proxies retry down this list. */
  readonly fallbacks: ReadonlyArray<SchedulingEndpoint>;
}

export interface FilterPlugin {
  filter(
    request: SchedulingRequest,
    endpoints: ReadonlyArray<SchedulingEndpoint>,
  ): ReadonlyArray<SchedulingEndpoint>;
}

export type ScorerCategory = 'Affinity' | 'Distribution' | 'Balance';

export interface ScorerPlugin {
  /** Scores in [0, 1] (the framework clamps); endpoints missing from the map score 0. */
  score(
    request: SchedulingRequest,
    endpoints: ReadonlyArray<SchedulingEndpoint>,
  ): ReadonlyMap<SchedulingEndpoint, number>;
  readonly category?: ScorerCategory;
}

export interface PickerPlugin {
  /** Chooses the targets, primary first; an empty list means nothing could be picked. */
  pick(request: SchedulingRequest, scored: ReadonlyArray<ScoredEndpoint>): ReadonlyArray<SchedulingEndpoint>;
}

/** A profile as the profile handler sees it: name plus the filters, weighted scorers and picker. */
export interface SchedulerProfileView {
  readonly name: string;
}

export interface ProfileHandlerPlugin {
  /**
   * Which profiles to run next, given the results so far; an empty list ends the cycle. Called
   * repeatedly: first with no results.
   */
  pickProfiles(
    request: SchedulingRequest,
    profiles: ReadonlyMap<string, SchedulerProfileView>,
    resultsSoFar: ReadonlyMap<string, ProfileRunResult | null>,
  ): ReadonlyArray<string>;
  /** Names the profile whose targets the request is routed to. */
  processResults(
    request: SchedulingRequest,
    results: ReadonlyMap<string, ProfileRunResult | null>,
  ): { primaryProfileName: string };
}

/**
 * Writes typed data for scorers before the profiles run. Producers run in dependency order (a
 * producer's `consumes` must be produced by an earlier one); each has a timeout (default 400 ms).
 */
export interface DataProducerPlugin {
  /** Data keys this plugin writes. */
  readonly produces: ReadonlyArray<string>;
  produce(request: SchedulingRequest, endpoints: ReadonlyArray<SchedulingEndpoint>): void | Promise<void>;
  /** Per-call timeout in milliseconds; default 400. */
  readonly produceTimeoutMilliseconds?: number;
}

/** Data keys a plugin reads. A `required` key with no producer is a startup error. */
export interface DataConsumerPlugin {
  readonly consumes: { readonly required: ReadonlyArray<string>; readonly optional?: ReadonlyArray<string> };
}

/** Runs after scheduling, before the request is sent (P/D headers, prefix-index updates, counters). */
export interface PreRequestPlugin {
  preRequest(request: SchedulingRequest, result: SchedulingResult): void | Promise<void>;
}

export interface ResponseHeadersInfo {
  readonly status: number;
  /** Response headers from the model server, names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  /** The endpoint that actually served (may differ from the primary after a retry). */
  readonly servedEndpoint: Endpoint | undefined;
  /** Headers to add to the response sent to the client. */
  readonly setHeaders: Map<string, string>;
}

export interface ResponseHeadersPlugin {
  responseHeaders(request: SchedulingRequest, response: ResponseHeadersInfo): void;
}

export interface ResponseChunkInfo {
  readonly data: Uint8Array;
  /** True for the first body chunk of the response (streaming: the first token has arrived). */
  readonly first: boolean;
  readonly servedEndpoint: Endpoint | undefined;
}

export interface ResponseBodyPlugin {
  responseChunk(request: SchedulingRequest, chunk: ResponseChunkInfo): void;
}

export type RequestTerminationCause = 'completed' | 'client-disconnected' | 'upstream-error' | 'rejected';

export interface RequestCompletionInfo {
  readonly cause: RequestTerminationCause;
  readonly servedEndpoint: Endpoint | undefined;
  readonly status: number | undefined;
  /** From the response's `usage`, when the model server reported it. */
  readonly usage?: {
    readonly promptTokens: number;
    readonly completionTokens: number;
    readonly cachedTokens: number | undefined;
  };
}

/** Always called exactly once per scheduled request, also on disconnects, so counters never leak. */
export interface RequestCompletePlugin {
  requestComplete(request: SchedulingRequest, completion: RequestCompletionInfo): void;
}

/** Measures pool saturation: 1.0 or more means saturated. */
export interface SaturationDetectorPlugin {
  saturation(endpoints: ReadonlyArray<EndpointState>): number;
}

/** Decides, for a P/D profile handler, whether a request should be disaggregated. */
export interface DisaggregationDeciderPlugin {
  shouldDisaggregate(request: SchedulingRequest, decodeEndpoint: SchedulingEndpoint): boolean;
}

/** Notified when endpoints join or leave the pool (llm-d's `endpoint-notification-source`). */
export interface EndpointLifecyclePlugin {
  endpointAdded?(endpoint: Endpoint): void;
  endpointRemoved?(endpoint: Endpoint): void;
}

/** Optional: readiness (health checks wait for every plugin that implements it). */
export interface ReadinessCheckerPlugin {
  checkReady(): boolean;
}

/** Optional: release sockets, timers, subscriptions on shutdown. */
export interface ClosablePlugin {
  close(): void | Promise<void>;
}

/**
 * Data-layer plugins (`metrics-data-source`, `core-metrics-extractor`, `file-discovery`, …) carry
 * settings the EPP runtime applies when it builds the datastore, discovery and metrics collector.
 */
export type DataLayerContribution =
  | {
      readonly kind: 'metrics-source';
      readonly scheme: 'http' | 'https';
      readonly path: string;
      readonly intervalMilliseconds: number | undefined;
      readonly timeoutMilliseconds: number | undefined;
      readonly tls: {
        readonly insecureSkipVerify: boolean;
        readonly caCertPath?: string;
        readonly clientCertPath?: string;
        readonly clientKeyPath?: string;
      };
    }
  | { readonly kind: 'metrics-extractor'; readonly engineMetrics: unknown }
  | { readonly kind: 'file-discovery'; readonly path: string; readonly watchFile: boolean }
  | { readonly kind: 'notification-source' }
  | { readonly kind: 'models-source' };

export interface DataLayerPlugin {
  readonly dataLayer: DataLayerContribution;
}

/** A plugin object: any subset of the capability interfaces. */
export type PluginBehaviour = Partial<
  FilterPlugin &
    ScorerPlugin &
    PickerPlugin &
    ProfileHandlerPlugin &
    DataProducerPlugin &
    DataConsumerPlugin &
    PreRequestPlugin &
    ResponseHeadersPlugin &
    ResponseBodyPlugin &
    RequestCompletePlugin &
    SaturationDetectorPlugin &
    DisaggregationDeciderPlugin &
    EndpointLifecyclePlugin &
    ReadinessCheckerPlugin &
    ClosablePlugin &
    DataLayerPlugin
>;

type Guard<Capability> = (plugin: PluginBehaviour) => plugin is PluginBehaviour & Capability;
const hasMethod =
  <Capability>(method: string): Guard<Capability> =>
  (plugin): plugin is PluginBehaviour & Capability =>
    typeof (plugin as Record<string, unknown>)[method] === 'function';

export const isFilter: Guard<FilterPlugin> = hasMethod('filter');
export const isScorer: Guard<ScorerPlugin> = hasMethod('score');
export const isPicker: Guard<PickerPlugin> = hasMethod('pick');
export const isProfileHandler: Guard<ProfileHandlerPlugin> = hasMethod('pickProfiles');
export const isDataProducer: Guard<DataProducerPlugin> = hasMethod('produce');
export const isPreRequest: Guard<PreRequestPlugin> = hasMethod('preRequest');
export const isResponseHeadersPlugin: Guard<ResponseHeadersPlugin> = hasMethod('responseHeaders');
export const isResponseBodyPlugin: Guard<ResponseBodyPlugin> = hasMethod('responseChunk');
export const isRequestCompletePlugin: Guard<RequestCompletePlugin> = hasMethod('requestComplete');
export const isSaturationDetector: Guard<SaturationDetectorPlugin> = hasMethod('saturation');
export const isDisaggregationDecider: Guard<DisaggregationDeciderPlugin> = hasMethod('shouldDisaggregate');
export const isReadinessChecker: Guard<ReadinessCheckerPlugin> = hasMethod('checkReady');
export const isClosable: Guard<ClosablePlugin> = hasMethod('close');
export function isDataConsumer(plugin: PluginBehaviour): plugin is PluginBehaviour & DataConsumerPlugin {
  return typeof plugin.consumes === 'object' && plugin.consumes !== null;
}
export function isEndpointLifecyclePlugin(
  plugin: PluginBehaviour,
): plugin is PluginBehaviour & EndpointLifecyclePlugin {
  return typeof plugin.endpointAdded === 'function' || typeof plugin.endpointRemoved === 'function';
}
