import { z } from 'zod';
import type { PromptVocabulary } from './prompt-vocabulary.js';
import { createSeededRandom, deriveSeed } from './seeded-random.js';
import type { BenchRequest, Workload } from './workload.js';

const positiveCount = z.coerce.number().int().positive();

/** A length: a fixed number, or `{ min, max }` drawn uniformly per request. */
const lengthRangeSchema = z
  .union([
    positiveCount.transform((length) => ({ min: length, max: length })),
    z.object({ min: positiveCount, max: positiveCount }),
  ])
  .refine((range) => range.min <= range.max, { message: 'min must not exceed max' });

/** Independent prompts of random content and length: no shared prefixes beyond chance. */
export const randomWorkloadSchema = z.object({
  type: z.literal('random'),
  promptLength: lengthRangeSchema.default({ min: 512, max: 1024 }).describe('prompt tokens per request'),
  outputLength: positiveCount.default(256).describe('tokens to generate (max_tokens)'),
  api: z.enum(['completions', 'chat']).default('completions'),
  seed: z.coerce.number().int().default(0),
});

export type RandomWorkloadInput = z.input<typeof randomWorkloadSchema>;
export type RandomWorkloadOptions = z.output<typeof randomWorkloadSchema>;

/** Request `n` is generated from its own seed, so the sequence is the same on every run. */
export function createRandomWorkload(options: RandomWorkloadOptions, vocabulary: PromptVocabulary): Workload {
  let sequence = 0;
  return {
    description: { ...options },
    unit: vocabulary.unit,
    next(): BenchRequest {
      const index = sequence++;
      const random = createSeededRandom(deriveSeed(options.seed, index));
      const length = random.integer(options.promptLength.min, options.promptLength.max);
      const prompt = vocabulary.text(random, length);
      const common = { id: `random-${index}`, promptTokens: length, maxTokens: options.outputLength };
      return options.api === 'chat'
        ? { ...common, api: 'chat', messages: [{ role: 'user', content: prompt }] }
        : { ...common, api: 'completions', prompt };
    },
    complete() {
      // Random prompts do not depend on earlier responses.
    },
  };
}
