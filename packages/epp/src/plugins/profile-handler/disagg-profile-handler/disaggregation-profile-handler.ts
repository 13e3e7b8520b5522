import { headerNames, type Logger } from '@llmd/core';
import { type AttributeKey, attributeKey } from '../../../plugin/attribute-map.js';
import type {
  DataConsumerPlugin,
  DisaggregationDeciderPlugin,
  PreRequestPlugin,
  ProfileHandlerPlugin,
  ProfileRunResult,
  SchedulerProfileView,
  SchedulingResult,
} from '../../../plugin/plugin-interfaces.js';
import type { SchedulingRequest } from '../../../plugin/scheduling-request.js';

/** Names of the scheduling profiles that run each stage. */
export interface DisaggregationProfileNames {
  readonly decode: string;
  readonly prefill: string;
  readonly encode: string;
}

/** A decider named in the config, resolved once every plugin exists. */
export interface DeciderReference {
  /** Instance name of the decider plugin. */
  readonly name: string;
  /** Parameter that named it (`deciders.prefill`, `deciderPluginName`, …), for error messages. */
  readonly parameter: string;
}

export interface DisaggregationDeciders {
  readonly prefill?: DisaggregationDeciderPlugin | undefined;
  readonly encode?: DisaggregationDeciderPlugin | undefined;
}

/** Which optional stages were already put to their decider for one request. */
interface StageDecisions {
  encodeDecided: boolean;
  prefillDecided: boolean;
}

export interface DisaggregationProfileHandlerOptions {
  /** Instance name; keys this handler's per-request state. */
  readonly name: string;
  readonly profiles: DisaggregationProfileNames;
  readonly logger: Logger;
  /** Deciders to resolve by name in `initialize`. */
  readonly deciderReferences?: { readonly prefill?: DeciderReference; readonly encode?: DeciderReference };
  /** Deciders built in rather than referenced (the deprecated `pd-profile-handler` threshold mode). */
  readonly deciders?: DisaggregationDeciders;
  /** Data the handler itself reads (the deprecated `pd-profile-handler` threshold mode). */
  readonly consumes?: DataConsumerPlugin['consumes'];
}

/**
 * llm-d's disaggregation profile handler, decode first: run the decode profile; if it found an
 * endpoint, ask the encode decider (when an encode profile exists) and then the prefill decider,
 * both given the chosen decode endpoint, and run the approved stages. The request is routed to the
 * decode endpoint; `preRequest` tells its sidecar where the prefill and encode work goes.
 * Without a prefill decider the prefill stage never runs (P/D is off).
 */
export class DisaggregationProfileHandler implements ProfileHandlerPlugin, PreRequestPlugin {
  readonly profiles: DisaggregationProfileNames;
  readonly consumes: DataConsumerPlugin['consumes'] | undefined;
  readonly deciderReferences: { readonly prefill?: DeciderReference; readonly encode?: DeciderReference };
  readonly #logger: Logger;
  readonly #decisionsKey: AttributeKey<StageDecisions>;
  #deciders: DisaggregationDeciders = {};
  #reportedMissingDecodeProfile = false;

  constructor(options: DisaggregationProfileHandlerOptions) {
    this.profiles = options.profiles;
    this.consumes = options.consumes;
    this.deciderReferences = options.deciderReferences ?? {};
    this.#deciders = options.deciders ?? {};
    this.#logger = options.logger;
    this.#decisionsKey = attributeKey(`disagg-profile-handler/${options.name}/stage-decisions`);
  }

  /** Adds deciders resolved by the plugin definition once every plugin exists. */
  setDeciders(deciders: DisaggregationDeciders): void {
    this.#deciders = { ...this.#deciders, ...deciders };
  }

  hasPrefillDecider(): boolean {
    return this.#deciders.prefill !== undefined;
  }

  pickProfiles(
    request: SchedulingRequest,
    profiles: ReadonlyMap<string, SchedulerProfileView>,
    resultsSoFar: ReadonlyMap<string, ProfileRunResult | null>,
  ): ReadonlyArray<string> {
    const names = this.profiles;
    if (!resultsSoFar.has(names.decode)) {
      if (profiles.has(names.decode)) return [names.decode];
      if (!this.#reportedMissingDecodeProfile) {
        this.#reportedMissingDecodeProfile = true;
        this.#logger.error(
          { profile: names.decode, profiles: [...profiles.keys()] },
          'the decode profile is not configured; every request will fail',
        );
      }
      return [];
    }
    const decodeEndpoint = resultsSoFar.get(names.decode)?.targets[0];
    if (!decodeEndpoint) return [];

    let decisions = request.attributes.get(this.#decisionsKey);
    if (!decisions) {
      decisions = { encodeDecided: false, prefillDecided: false };
      request.attributes.set(this.#decisionsKey, decisions);
    }
    if (!decisions.encodeDecided && profiles.has(names.encode) && !resultsSoFar.has(names.encode)) {
      decisions.encodeDecided = true;
      if (this.#approves(this.#deciders.encode, 'encode', request, decodeEndpoint)) return [names.encode];
    }
    if (!decisions.prefillDecided && profiles.has(names.prefill) && !resultsSoFar.has(names.prefill)) {
      decisions.prefillDecided = true;
      if (this.#approves(this.#deciders.prefill, 'prefill', request, decodeEndpoint)) return [names.prefill];
    }
    return [];
  }

  processResults(): { primaryProfileName: string } {
    return { primaryProfileName: this.profiles.decode };
  }

  preRequest(request: SchedulingRequest, result: SchedulingResult): void {
    // Never forward values a client smuggled in; only this EPP decides where prefill/encode go.
    request.upstreamHeaders.delete(headerNames.prefillerHostPort);
    request.upstreamHeaders.delete(headerNames.encoderHostsPorts);
    const prefillTarget = result.profileResults.get(this.profiles.prefill)?.targets[0];
    if (prefillTarget) request.upstreamHeaders.set(headerNames.prefillerHostPort, prefillTarget.endpoint.key);
    const encodeTargets = result.profileResults.get(this.profiles.encode)?.targets ?? [];
    if (encodeTargets.length > 0) {
      request.upstreamHeaders.set(
        headerNames.encoderHostsPorts,
        encodeTargets.map((target) => target.endpoint.key).join(','),
      );
    }
  }

  #approves(
    decider: DisaggregationDeciderPlugin | undefined,
    stage: 'encode' | 'prefill',
    request: SchedulingRequest,
    decodeEndpoint: Parameters<DisaggregationDeciderPlugin['shouldDisaggregate']>[1],
  ): boolean {
    if (!decider) return false;
    try {
      return decider.shouldDisaggregate(request, decodeEndpoint);
    } catch (error) {
      // A broken decider must not fail the request: the decode endpoint can do the work itself.
      this.#logger.warn(
        {
          stage,
          requestId: request.requestId,
          error: error instanceof Error ? error.message : String(error),
        },
        'disaggregation decider failed; skipping the stage',
      );
      return false;
    }
  }
}
