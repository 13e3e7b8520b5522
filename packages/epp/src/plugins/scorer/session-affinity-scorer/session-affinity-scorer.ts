import { type Endpoint, headerNames } from '@llmd/core';
import { z } from 'zod';
import { type AttributeKey, attributeKey } from '../../../plugin/attribute-map.js';
import { definePlugin, type PluginHandle } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';
import type { PluginBehaviour, SchedulingResult } from '../../../plugin/plugin-interfaces.js';
import type { SchedulingRequest } from '../../../plugin/scheduling-request.js';
import { decodeEndpointSessionToken, encodeEndpointSessionToken } from './endpoint-session-token.js';
import { SessionBindings } from './session-bindings.js';

const defaultEvictionTtlSeconds = 300;
const defaultEvictionSweepSeconds = 10;
/** Bound on server-side session bindings (`session_id`). */
const maxSessions = 100_000;
/** Bound on requests whose profile target awaits its response headers (`profileName` set). */
const maxPendingResponses = 100_000;

const sessionIdSourceSchema = z
  .object({
    /** A request header carrying the session id. */
    header: z.string().min(1).optional(),
    /** A request attribute (string) published by an earlier plugin. */
    attribute: z.string().min(1).optional(),
  })
  .strict()
  .refine((source) => (source.header === undefined) !== (source.attribute === undefined), {
    message: 'exactly one of header or attribute must be set',
  });

/** 0 means "use the default", as in llm-d. */
const secondsWithDefault = (fallback: number) =>
  z
    .number()
    .min(0)
    .default(fallback)
    .transform((seconds) => (seconds === 0 ? fallback : seconds));

export const sessionAffinityScorerParameters = z
  .object({
    strategy: z.enum(['encoded_endpoint_header', 'session_id']).default('encoded_endpoint_header'),
    /** The profile whose target this instance pins (e.g. `prefill`); empty = the primary profile. */
    profileName: z.string().default(''),
    encodedEndpointHeaderConfig: z
      .object({ header: z.string().default(headerNames.sessionToken) })
      .strict()
      .default({ header: headerNames.sessionToken }),
    sessionIdConfig: z
      .object({
        /** Where to read the session id, first non-empty wins; empty = header `x-session-id`. */
        sources: z.array(sessionIdSourceSchema).default([]),
        evictionTtlSeconds: secondsWithDefault(defaultEvictionTtlSeconds),
        evictionSweepSeconds: secondsWithDefault(defaultEvictionSweepSeconds),
      })
      .strict()
      .default({
        sources: [],
        evictionTtlSeconds: defaultEvictionTtlSeconds,
        evictionSweepSeconds: defaultEvictionSweepSeconds,
      }),
  })
  .strict()
  .default({
    strategy: 'encoded_endpoint_header',
    profileName: '',
    encodedEndpointHeaderConfig: { header: headerNames.sessionToken },
    sessionIdConfig: {
      sources: [],
      evictionTtlSeconds: defaultEvictionTtlSeconds,
      evictionSweepSeconds: defaultEvictionSweepSeconds,
    },
  });
type SessionAffinityParameters = z.output<typeof sessionAffinityScorerParameters>;
type SessionIdSource =
  | { readonly kind: 'header'; readonly header: string }
  | { readonly kind: 'attribute'; readonly attribute: AttributeKey<unknown> };

/** Request headers are stored lower-cased; an empty name falls back to the default. */
function normalizeHeaderName(name: string | undefined, fallback: string): string {
  const normalized = (name ?? '').trim().toLowerCase();
  return normalized === '' ? fallback : normalized;
}

/** The target of the profile this instance pins: `profileName`, or the primary profile. */
function pinnedTarget(result: SchedulingResult, profileName: string): SchedulingEndpoint | undefined {
  return result.profileResults.get(profileName === '' ? result.primaryProfileName : profileName)?.targets[0];
}

/**
 * Stateless stickiness: the client echoes back `x-session-token` = base64(`namespace/name`) of the
 * endpoint that served it; that endpoint scores 1, the others 0. The token is set on the response
 * headers (llm-d once set it at end of stream, after the headers had left).
 */
function encodedEndpointHeaderStrategy(parameters: SessionAffinityParameters): PluginBehaviour {
  const header = normalizeHeaderName(parameters.encodedEndpointHeaderConfig.header, headerNames.sessionToken);
  const { profileName } = parameters;
  // With a profileName (e.g. the prefill instance in P/D) the token names that profile's target,
  // which the response does not carry: remember it from pre-request until the headers go out.
  const pendingTargets = new Map<string, Endpoint>();
  const behaviour: PluginBehaviour = {
    category: 'Affinity',
    score(request, endpoints) {
      const session = decodeEndpointSessionToken(request.headers[header]);
      const scores = new Map<SchedulingEndpoint, number>();
      for (const candidate of endpoints) {
        const { namespace, name } = candidate.endpoint;
        scores.set(
          candidate,
          session !== undefined && session.namespace === namespace && session.name === name ? 1 : 0,
        );
      }
      return scores;
    },
    responseHeaders(request, response) {
      let endpoint = response.servedEndpoint;
      if (profileName !== '') {
        endpoint = pendingTargets.get(request.requestId);
        pendingTargets.delete(request.requestId);
      }
      if (endpoint) response.setHeaders.set(header, encodeEndpointSessionToken(endpoint));
    },
  };
  if (profileName !== '') {
    behaviour.preRequest = (request, result) => {
      const target = pinnedTarget(result, profileName);
      if (!target) return;
      pendingTargets.set(request.requestId, target.endpoint);
      if (pendingTargets.size > maxPendingResponses)
        pendingTargets.delete(pendingTargets.keys().next().value as string);
    };
    behaviour.requestComplete = (request) => {
      pendingTargets.delete(request.requestId);
    };
  }
  return behaviour;
}

/**
 * Server-side stickiness: the client sends an opaque session id (`x-session-id` by default); the
 * first request of a session is bound at pre-request to the endpoint it went to, and later requests
 * score that endpoint 1, the others 0. A session without a live binding (new, expired, or whose
 * endpoint is not a candidate) scores 1 on the candidate holding the fewest sessions, so sessions
 * spread. A binding moves only when its endpoint was absent from the candidates; if other scorers
 * outvote it, the binding stays. No header is written back.
 */
function sessionIdStrategy(parameters: SessionAffinityParameters, handle: PluginHandle): PluginBehaviour {
  const { profileName, sessionIdConfig } = parameters;
  const sources: ReadonlyArray<SessionIdSource> =
    sessionIdConfig.sources.length > 0
      ? sessionIdConfig.sources.map((source) =>
          source.header !== undefined
            ? { kind: 'header', header: normalizeHeaderName(source.header, headerNames.sessionId) }
            : { kind: 'attribute', attribute: attributeKey<unknown>(source.attribute as string) },
        )
      : [{ kind: 'header', header: headerNames.sessionId }];
  const bindings = new SessionBindings({
    ttlMilliseconds: sessionIdConfig.evictionTtlSeconds * 1000,
    sweepIntervalMilliseconds: sessionIdConfig.evictionSweepSeconds * 1000,
    maxSessions,
  });
  // Whether the bound endpoint was among this request's candidates, handed from score to preRequest.
  const boundEndpointPresent = attributeKey<boolean>(
    `session-affinity-scorer/${handle.name}/bound-endpoint-present`,
  );

  const sessionIdOf = (request: SchedulingRequest): string | undefined => {
    for (const source of sources) {
      const value =
        source.kind === 'header' ? request.headers[source.header] : request.attributes.get(source.attribute);
      if (typeof value === 'string' && value.trim() !== '') return value.trim();
    }
    return undefined;
  };

  return {
    category: 'Affinity',
    score(request, endpoints) {
      const scores = new Map<SchedulingEndpoint, number>();
      for (const candidate of endpoints) scores.set(candidate, 0);
      const sessionId = sessionIdOf(request);
      if (sessionId === undefined || endpoints.length === 0) return scores;
      const bound = bindings.boundEndpoint(sessionId, handle.now());
      let target: SchedulingEndpoint | undefined;
      if (bound !== undefined) {
        target = endpoints.find((candidate) => candidate.endpoint.key === bound);
        request.attributes.set(boundEndpointPresent, target !== undefined);
      }
      if (!target) {
        // Least-bound candidate; the first one wins ties so the choice is deterministic.
        let fewest = Number.POSITIVE_INFINITY;
        for (const candidate of endpoints) {
          const count = bindings.sessionCount(candidate.endpoint.key);
          if (count < fewest) {
            fewest = count;
            target = candidate;
          }
        }
      }
      if (target) scores.set(target, 1);
      return scores;
    },
    preRequest(request, result) {
      const sessionId = sessionIdOf(request);
      if (sessionId === undefined) return;
      const picked = pinnedTarget(result, profileName);
      if (!picked) return;
      const now = handle.now();
      const bound = bindings.boundEndpoint(sessionId, now);
      const key = picked.endpoint.key;
      if (bound === undefined || bound === key || request.attributes.get(boundEndpointPresent) === false) {
        bindings.bind(sessionId, key, now);
      }
    },
  };
}

/**
 * Keeps a session on one endpoint (soft: a weighted scorer, other scorers can outvote it). Strategy
 * `encoded_endpoint_header` (default) is stateless via a response/request header; `session_id` keeps
 * server-side bindings with a TTL (state is per EPP replica).
 */
export const sessionAffinityScorerPlugin = definePlugin({
  type: 'session-affinity-scorer',
  stability: 'Stable',
  parameters: sessionAffinityScorerParameters,
  create: (parameters, handle) =>
    parameters.strategy === 'session_id'
      ? sessionIdStrategy(parameters, handle)
      : encodedEndpointHeaderStrategy(parameters),
});
