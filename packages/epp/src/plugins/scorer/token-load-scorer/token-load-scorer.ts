import { z } from 'zod';
import { inFlightLoadAttribute, inFlightLoadDataKey } from '../../../plugin/data-keys.js';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';
import type { DataConsumerPlugin, ScorerPlugin } from '../../../plugin/plugin-interfaces.js';
import type { SchedulingRequest } from '../../../plugin/scheduling-request.js';
import { checkInFlightLoadProducer } from '../../producer/inflight-load-producer/check-in-flight-load-producer.js';

/** llm-d's default: 128 requests of 32K tokens. */
const defaultQueueThresholdTokens = 4_194_304;

export const tokenLoadScorerParameters = z
  .object({
    /** In-flight tokens at which an endpoint scores 0; larger loads are capped at it. */
    queueThresholdTokens: z.number().int().min(1).default(defaultQueueThresholdTokens),
    /** Optional: the in-flight load producer instance to read (checked to exist and produce the data). */
    inFlightLoadProducerName: z.string().min(1).optional(),
  })
  .strict()
  .default({ queueThresholdTokens: defaultQueueThresholdTokens });

class TokenLoadScorer implements ScorerPlugin, DataConsumerPlugin {
  readonly category = 'Distribution';
  readonly consumes = { required: [inFlightLoadDataKey] };

  constructor(
    private readonly queueThresholdTokens: number,
    readonly inFlightLoadProducerName: string | undefined,
  ) {}

  score(
    _request: SchedulingRequest,
    endpoints: ReadonlyArray<SchedulingEndpoint>,
  ): Map<SchedulingEndpoint, number> {
    const scores = new Map<SchedulingEndpoint, number>();
    for (const candidate of endpoints) {
      const tokens = candidate.attributes.get(inFlightLoadAttribute)?.tokens ?? 0;
      scores.set(
        candidate,
        tokens <= 0 ? 1 : 1 - Math.min(tokens, this.queueThresholdTokens) / this.queueThresholdTokens,
      );
    }
    return scores;
  }
}

/**
 * Prefers endpoints with fewer uncached prompt tokens in flight from this EPP (from
 * `inflight-load-producer`): `1 − min(tokens, queueThresholdTokens) / queueThresholdTokens`. An
 * absolute scale, not relative to the other candidates, so one busy pool does not look idle.
 */
export const tokenLoadScorerPlugin = definePlugin({
  type: 'token-load-scorer',
  stability: 'Stable',
  parameters: tokenLoadScorerParameters,
  create: (parameters) =>
    new TokenLoadScorer(parameters.queueThresholdTokens, parameters.inFlightLoadProducerName),
  initialize: (plugin, handle) => {
    if (plugin instanceof TokenLoadScorer) checkInFlightLoadProducer(handle, plugin.inFlightLoadProducerName);
  },
});
