import { z } from 'zod';
import { durationMillisecondsSchema } from '../../../config/duration.js';
import { inFlightLoadAttribute, inFlightLoadDataKey } from '../../../plugin/data-keys.js';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';
import type { DataConsumerPlugin, ScorerPlugin } from '../../../plugin/plugin-interfaces.js';
import type { SchedulingRequest } from '../../../plugin/scheduling-request.js';
import { checkInFlightLoadProducer } from '../../producer/inflight-load-producer/check-in-flight-load-producer.js';

export const activeRequestScorerParameters = z
  .object({
    /** Endpoints with at most this many in-flight requests count as idle and score 1. */
    idleThreshold: z.number().int().min(0).default(0),
    /** Highest score a busy endpoint can get; below 1 it opens a gap between idle and busy endpoints. */
    maxBusyScore: z.number().min(0).max(1).default(1),
    /** Optional: the in-flight load producer instance to read (checked to exist and produce the data). */
    inFlightLoadProducerName: z.string().min(1).optional(),
    /** Deprecated in llm-d and ignored: the producer now tracks request lifetimes. */
    requestTimeout: durationMillisecondsSchema.optional(),
  })
  .strict()
  .default({ idleThreshold: 0, maxBusyScore: 1 });

class ActiveRequestScorer implements ScorerPlugin, DataConsumerPlugin {
  readonly category = 'Distribution';
  readonly consumes = { required: [inFlightLoadDataKey] };

  constructor(
    private readonly idleThreshold: number,
    private readonly maxBusyScore: number,
    readonly inFlightLoadProducerName: string | undefined,
  ) {}

  score(
    _request: SchedulingRequest,
    endpoints: ReadonlyArray<SchedulingEndpoint>,
  ): Map<SchedulingEndpoint, number> {
    let maximum = 0;
    for (const candidate of endpoints) {
      const requests = candidate.attributes.get(inFlightLoadAttribute)?.requests ?? 0;
      if (requests > maximum) maximum = requests;
    }
    const scores = new Map<SchedulingEndpoint, number>();
    for (const candidate of endpoints) {
      const requests = candidate.attributes.get(inFlightLoadAttribute)?.requests ?? 0;
      // Any count above idleThreshold (≥ 0) is positive, so maximum > 0 wherever we divide.
      scores.set(
        candidate,
        requests <= this.idleThreshold ? 1 : ((maximum - requests) / maximum) * this.maxBusyScore,
      );
    }
    return scores;
  }
}

/**
 * Prefers endpoints with fewer requests in flight from this EPP (counted by `inflight-load-producer`,
 * so it reacts at once, unlike scraped metrics). With `c` the endpoint's count and `max` the largest
 * count among the candidates: `c ≤ idleThreshold` scores 1, otherwise `(max − c) / max · maxBusyScore`
 * (the busiest endpoint scores 0).
 */
export const activeRequestScorerPlugin = definePlugin({
  type: 'active-request-scorer',
  stability: 'Stable',
  parameters: activeRequestScorerParameters,
  create: (parameters, handle) => {
    if (parameters.requestTimeout !== undefined) {
      handle.logger.warn(
        { requestTimeout: parameters.requestTimeout },
        'active-request-scorer: requestTimeout is deprecated and ignored; inflight-load-producer tracks request lifetimes',
      );
    }
    return new ActiveRequestScorer(
      parameters.idleThreshold,
      parameters.maxBusyScore,
      parameters.inFlightLoadProducerName,
    );
  },
  initialize: (plugin, handle) => {
    if (plugin instanceof ActiveRequestScorer)
      checkInFlightLoadProducer(handle, plugin.inFlightLoadProducerName);
  },
});
