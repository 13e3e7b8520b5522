import { parseWithSchema } from '@llmd/core';
import { z } from 'zod';
import { createSeededRandom, deriveSeed } from './seeded-random.js';

const positiveCount = z.coerce.number().int().positive();
const rateSchema = z.coerce.number().positive().max(1_000_000).describe('requests per second');
const durationSchema = z.coerce.number().positive().describe('seconds of sending');
const requestCountSchema = positiveCount.describe('requests to send');
const distributionSchema = z
  .enum(['poisson', 'constant'])
  .default('poisson')
  .describe('poisson: exponential gaps (open-loop, as inference-perf); constant: equal gaps');

const needsStop = {
  message: 'give durationSeconds, requests or both',
  path: ['durationSeconds'],
};
const hasStop = (stage: { durationSeconds?: number | undefined; requests?: number | undefined }) =>
  stage.durationSeconds !== undefined || stage.requests !== undefined;

const rateStageSchema = z
  .object({
    rate: rateSchema,
    durationSeconds: durationSchema.optional(),
    requests: requestCountSchema.optional(),
  })
  .refine(hasStop, needsStop);

/**
 * When requests are sent. A stage stops sending at its duration or request count, whichever comes
 * first, then waits for its requests to finish before the next stage starts, so each stage's
 * numbers describe one load level.
 */
export const arrivalsSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('poisson'),
      rate: rateSchema,
      durationSeconds: durationSchema.optional(),
      requests: requestCountSchema.optional(),
      distribution: distributionSchema,
      seed: z.coerce.number().int().default(0),
    })
    .refine(hasStop, needsStop),
  z.object({
    type: z.literal('ladder'),
    stages: z.array(rateStageSchema).min(1).max(1000).describe('rates in order, e.g. 3 … 60 QPS'),
    distribution: distributionSchema,
    seed: z.coerce.number().int().default(0),
  }),
  z
    .object({
      type: z.literal('concurrency'),
      concurrency: positiveCount.max(100_000).describe('requests kept in flight (closed loop)'),
      durationSeconds: durationSchema.optional(),
      requests: requestCountSchema.optional(),
    })
    .refine(hasStop, needsStop),
]);

export type ArrivalsInput = z.input<typeof arrivalsSchema>;
export type ArrivalsOptions = z.output<typeof arrivalsSchema>;

/** The load level of one stage, as results report it. */
export type BenchTarget = { type: 'rate'; rate: number } | { type: 'concurrency'; concurrency: number };

interface StageLimits {
  index: number;
  /** Stop sending after this long (from the stage's start). */
  durationMilliseconds: number | undefined;
  /** Stop sending after this many requests. */
  requests: number | undefined;
}

/** An open-loop stage: arrivals at `rate`, independent of responses. */
export interface RateStage extends StageLimits {
  kind: 'rate';
  target: { type: 'rate'; rate: number };
  /** Milliseconds until the next arrival; a fresh, seeded sequence per call of `plan`. */
  gaps(): () => number;
}

/** A closed-loop stage: a new request as soon as one finishes. */
export interface ConcurrencyStage extends StageLimits {
  kind: 'concurrency';
  target: { type: 'concurrency'; concurrency: number };
  concurrency: number;
}

export type ArrivalStage = RateStage | ConcurrencyStage;

/** Exponentially distributed gaps with mean `1000 / rate` ms: a Poisson process at `rate` per second. */
export function createPoissonGaps(rate: number, seed: number): () => number {
  const random = createSeededRandom(seed);
  const meanMilliseconds = 1000 / rate;
  // 1 - u is in (0, 1], so the logarithm is finite.
  return () => -Math.log(1 - random.next()) * meanMilliseconds;
}

function rateStage(
  index: number,
  stage: { rate: number; durationSeconds?: number | undefined; requests?: number | undefined },
  distribution: 'poisson' | 'constant',
  seed: number,
): RateStage {
  return {
    kind: 'rate',
    index,
    target: { type: 'rate', rate: stage.rate },
    durationMilliseconds: stage.durationSeconds === undefined ? undefined : stage.durationSeconds * 1000,
    requests: stage.requests,
    gaps: () =>
      distribution === 'poisson'
        ? createPoissonGaps(stage.rate, deriveSeed(seed, index))
        : () => 1000 / stage.rate,
  };
}

/** Validate arrival options (`invalid_argument` naming the field on failure) and split them into stages. */
export function planArrivals(input: ArrivalsInput): ArrivalStage[] {
  const options = parseWithSchema(arrivalsSchema, input, 'invalid_argument', 'arrivals');
  switch (options.type) {
    case 'poisson':
      return [rateStage(0, options, options.distribution, options.seed)];
    case 'ladder':
      return options.stages.map((stage, index) =>
        rateStage(index, stage, options.distribution, options.seed),
      );
    case 'concurrency':
      return [
        {
          kind: 'concurrency',
          index: 0,
          target: { type: 'concurrency', concurrency: options.concurrency },
          concurrency: options.concurrency,
          durationMilliseconds:
            options.durationSeconds === undefined ? undefined : options.durationSeconds * 1000,
          requests: options.requests,
        },
      ];
  }
}
