import { type Logger, noopLogger } from '@llmd/core';
import type { DropReason } from '../pipeline/request-outcome.js';
import { AttributeMap } from '../plugin/attribute-map.js';
import type { LoadedPlugin } from '../plugin/define-plugin.js';
import type { EndpointState, SchedulingEndpoint } from '../plugin/endpoint-state.js';
import type {
  DataProducerPlugin,
  PluginBehaviour,
  PreRequestPlugin,
  ProfileHandlerPlugin,
  ProfileRunResult,
  RequestCompletePlugin,
  RequestCompletionInfo,
  ResponseBodyPlugin,
  ResponseChunkInfo,
  ResponseHeadersInfo,
  ResponseHeadersPlugin,
  SaturationDetectorPlugin,
  SchedulingResult,
} from '../plugin/plugin-interfaces.js';
import type { SchedulingRequest } from '../plugin/scheduling-request.js';
import { type PluginMetricsSink, PluginRunObserver } from './plugin-run-observer.js';
import { runSchedulerProfile, type SchedulerProfile } from './scheduler-profile.js';

/** Everything the config loader resolved: the scheduler's plugin graph. */
export interface SchedulerPlugins {
  /** Every plugin instance, configured and injected, in config order. */
  readonly all: ReadonlyArray<LoadedPlugin>;
  readonly profiles: ReadonlyMap<string, SchedulerProfile>;
  readonly profileHandler: { readonly plugin: LoadedPlugin; readonly handler: ProfileHandlerPlugin };
  /** Producers in dependency order. */
  readonly producers: ReadonlyArray<{ readonly plugin: LoadedPlugin; readonly producer: DataProducerPlugin }>;
  readonly preRequest: ReadonlyArray<{ readonly plugin: LoadedPlugin; readonly hook: PreRequestPlugin }>;
  readonly responseHeaders: ReadonlyArray<{
    readonly plugin: LoadedPlugin;
    readonly hook: ResponseHeadersPlugin;
  }>;
  readonly responseBody: ReadonlyArray<{ readonly plugin: LoadedPlugin; readonly hook: ResponseBodyPlugin }>;
  readonly requestComplete: ReadonlyArray<{
    readonly plugin: LoadedPlugin;
    readonly hook: RequestCompletePlugin;
  }>;
  readonly saturationDetector: { readonly plugin: LoadedPlugin; readonly detector: SaturationDetectorPlugin };
}

export type ScheduleOutcome =
  | { readonly ok: true; readonly result: SchedulingResult }
  | {
      readonly ok: false;
      readonly status: 429 | 503;
      readonly dropReason: DropReason;
      readonly message: string;
    };

export interface SchedulerOptions {
  readonly logger?: Logger;
  readonly metrics?: PluginMetricsSink;
  /** Default timeout of each data producer, in milliseconds (llm-d: 400). */
  readonly producerTimeoutMilliseconds?: number;
}

const defaultProducerTimeoutMilliseconds = 400;
const maxProfileRounds = 16;

/**
 * Runs one scheduling cycle per request: data producers in dependency order, then the profile
 * handler's profiles (filters → weighted scorers → picker), then picks the primary profile's
 * targets. Transport-neutral: servers and custom gateways call it the same way.
 */
export class Scheduler {
  readonly plugins: SchedulerPlugins;
  readonly #logger: Logger;
  readonly #observer: PluginRunObserver;
  readonly #producerTimeoutMilliseconds: number;

  constructor(plugins: SchedulerPlugins, options: SchedulerOptions = {}) {
    this.plugins = plugins;
    this.#logger = options.logger ?? noopLogger;
    this.#observer = new PluginRunObserver(this.#logger, options.metrics);
    this.#producerTimeoutMilliseconds =
      options.producerTimeoutMilliseconds ?? defaultProducerTimeoutMilliseconds;
  }

  /** Pool saturation per the configured detector (≥ 1 means saturated). */
  saturation(endpoints: ReadonlyArray<EndpointState>): number {
    return this.plugins.saturationDetector.detector.saturation(endpoints);
  }

  async schedule(
    request: SchedulingRequest,
    endpoints: ReadonlyArray<EndpointState>,
  ): Promise<ScheduleOutcome> {
    if (endpoints.length === 0) {
      return {
        ok: false,
        status: 503,
        dropReason: 'rejected-no-endpoints',
        message: 'no ready endpoints in the pool',
      };
    }
    const candidates: SchedulingEndpoint[] = new Array(endpoints.length);
    for (let index = 0; index < endpoints.length; index++) {
      const state = endpoints[index] as EndpointState;
      candidates[index] = {
        endpoint: state.endpoint,
        metrics: state.metrics,
        attributes: new AttributeMap(),
      };
    }
    await this.#runProducers(request, candidates);

    const { profiles, profileHandler } = this.plugins;
    const results = new Map<string, ProfileRunResult | null>();
    for (let round = 0; round < maxProfileRounds; round++) {
      const started = this.#observer.start();
      let next: ReadonlyArray<string>;
      try {
        next = profileHandler.handler.pickProfiles(request, profiles, results);
        this.#observer.finish('ProfileHandler', profileHandler.plugin, started);
      } catch (error) {
        this.#observer.fail('ProfileHandler', profileHandler.plugin, started, error);
        break;
      }
      const toRun = next.filter((name) => !results.has(name));
      if (toRun.length === 0) break;
      for (const name of toRun) {
        const profile = profiles.get(name);
        if (!profile) {
          this.#logger.error({ profile: name }, 'profile handler asked for an unknown profile');
          results.set(name, null);
          continue;
        }
        results.set(name, runSchedulerProfile(profile, request, candidates, this.#observer));
      }
    }

    let primaryProfileName: string;
    try {
      primaryProfileName = profileHandler.handler.processResults(request, results).primaryProfileName;
    } catch (error) {
      this.#logger.error({ error: String(error) }, 'profile handler failed to process results');
      primaryProfileName = [...results.keys()][0] ?? '';
    }
    const primaryResult = results.get(primaryProfileName);
    if (!primaryResult || primaryResult.targets.length === 0) {
      return {
        ok: false,
        status: 429,
        dropReason: 'rejected-saturated',
        message: `no endpoint left after filtering in profile "${primaryProfileName}"`,
      };
    }
    const [primary, ...fallbacks] = primaryResult.targets as [SchedulingEndpoint, ...SchedulingEndpoint[]];
    return { ok: true, result: { primaryProfileName, profileResults: results, primary, fallbacks } };
  }

  /** Runs pre-request hooks in order; a failing hook is logged and skipped. */
  async preRequest(request: SchedulingRequest, result: SchedulingResult): Promise<void> {
    for (const { plugin, hook } of this.plugins.preRequest) {
      const started = this.#observer.start();
      try {
        await hook.preRequest(request, result);
        this.#observer.finish('PreRequest', plugin, started);
      } catch (error) {
        this.#observer.fail('PreRequest', plugin, started, error);
      }
    }
  }

  responseHeaders(request: SchedulingRequest, response: ResponseHeadersInfo): void {
    for (const { plugin, hook } of this.plugins.responseHeaders) {
      const started = this.#observer.start();
      try {
        hook.responseHeaders(request, response);
        this.#observer.finish('ResponseHeader', plugin, started);
      } catch (error) {
        this.#observer.fail('ResponseHeader', plugin, started, error);
      }
    }
  }

  responseChunk(request: SchedulingRequest, chunk: ResponseChunkInfo): void {
    for (const { plugin, hook } of this.plugins.responseBody) {
      try {
        hook.responseChunk(request, chunk);
      } catch (error) {
        this.#observer.fail('ResponseBody', plugin, 0, error);
      }
    }
  }

  requestComplete(request: SchedulingRequest, completion: RequestCompletionInfo): void {
    for (const { plugin, hook } of this.plugins.requestComplete) {
      try {
        hook.requestComplete(request, completion);
      } catch (error) {
        this.#observer.fail('RequestComplete', plugin, 0, error);
      }
    }
  }

  /** True when every plugin that can report readiness is ready. */
  isReady(): boolean {
    for (const { behaviour } of this.plugins.all) {
      if (typeof behaviour.checkReady === 'function' && !behaviour.checkReady()) return false;
    }
    return true;
  }

  /** Releases plugin resources (sockets, timers). */
  async close(): Promise<void> {
    for (const { behaviour } of [...this.plugins.all].reverse()) {
      try {
        await (behaviour as PluginBehaviour).close?.();
      } catch (error) {
        this.#logger.warn({ error: String(error) }, 'plugin failed to close');
      }
    }
  }

  async #runProducers(
    request: SchedulingRequest,
    candidates: ReadonlyArray<SchedulingEndpoint>,
  ): Promise<void> {
    for (const { plugin, producer } of this.plugins.producers) {
      const started = this.#observer.start();
      try {
        const pending = producer.produce(request, candidates);
        if (pending !== undefined) {
          await withTimeout(
            pending,
            producer.produceTimeoutMilliseconds ?? this.#producerTimeoutMilliseconds,
            `${plugin.name}/${plugin.type}`,
          );
        }
        this.#observer.finish('DataProducer', plugin, started);
      } catch (error) {
        this.#observer.fail('DataProducer', plugin, started, error);
      }
    }
  }
}

function withTimeout(pending: Promise<void>, milliseconds: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${milliseconds} ms`)), milliseconds);
  });
  return Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
}
