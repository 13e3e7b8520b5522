import { z } from 'zod';
import type { PromptVocabulary } from './prompt-vocabulary.js';
import { createSeededRandom, deriveSeed } from './seeded-random.js';
import type { BenchRequest, Workload } from './workload.js';

const positiveCount = z.coerce.number().int().positive();

/**
 * inference-perf's `shared_prefix` data shape: `numGroups` system prompts, each shared by
 * `promptsPerGroup` users who each ask one fixed question. Defaults are the "high-cache" variant
 * the GIE and llm-d prefix benchmarks use (150 × 5, 6000 / 1200 / 1000).
 */
export const sharedPrefixWorkloadSchema = z
  .object({
    type: z.literal('shared-prefix'),
    numGroups: positiveCount.max(100_000).default(150).describe('groups, each with its own system prompt'),
    promptsPerGroup: positiveCount
      .max(100_000)
      .default(5)
      .describe('users (distinct questions) per group; newer inference-perf: num_users_per_system_prompt'),
    systemPromptLength: positiveCount.default(6000).describe('tokens of the shared system prompt'),
    questionLength: positiveCount.default(1200).describe('tokens of each user question'),
    outputLength: positiveCount.default(1000).describe('tokens to generate (max_tokens)'),
    api: z
      .enum(['completions', 'chat'])
      .default('completions')
      .describe('completions: one prompt; chat: a system and a user message'),
    seed: z.coerce.number().int().default(0),
  })
  .refine((options) => options.numGroups * options.promptsPerGroup <= 1_000_000, {
    message: 'numGroups × promptsPerGroup must be at most 1,000,000',
    path: ['promptsPerGroup'],
  });

export type SharedPrefixWorkloadInput = z.input<typeof sharedPrefixWorkloadSchema>;
export type SharedPrefixWorkloadOptions = z.output<typeof sharedPrefixWorkloadSchema>;

/** Streams that never collide with each other for one seed. */
const streams = { systemPrompt: 1, question: 2, order: 3 } as const;

/**
 * Send every (group, user) prompt once per pass, in a seeded shuffled order, pass after pass: the
 * second pass repeats whole prompts, as inference-perf's generator cycles through its data set.
 * Prompts are regenerated from their seeds on demand rather than kept, so memory stays flat for
 * large group counts.
 */
export function createSharedPrefixWorkload(
  options: SharedPrefixWorkloadOptions,
  vocabulary: PromptVocabulary,
): Workload {
  const promptCount = options.numGroups * options.promptsPerGroup;
  const order = new Uint32Array(promptCount);
  let pass = -1;
  let position = promptCount;
  let sequence = 0;

  const shuffleForPass = () => {
    pass++;
    position = 0;
    for (let index = 0; index < promptCount; index++) order[index] = index;
    const random = createSeededRandom(deriveSeed(options.seed, streams.order, pass));
    for (let index = promptCount - 1; index > 0; index--) {
      const other = random.integer(0, index);
      const swapped = order[index] as number;
      order[index] = order[other] as number;
      order[other] = swapped;
    }
  };

  return {
    description: { ...options },
    unit: vocabulary.unit,
    next(): BenchRequest {
      if (position >= promptCount) shuffleForPass();
      const promptIndex = order[position++] as number;
      const group = Math.floor(promptIndex / options.promptsPerGroup);
      const user = promptIndex % options.promptsPerGroup;
      const systemPrompt = vocabulary.text(
        createSeededRandom(deriveSeed(options.seed, streams.systemPrompt, group)),
        options.systemPromptLength,
      );
      const question = vocabulary.text(
        createSeededRandom(deriveSeed(options.seed, streams.question, group, user)),
        options.questionLength,
      );
      const common = {
        id: `shared-prefix-${sequence++}`,
        userKey: `group-${group}-user-${user}`,
        promptTokens: options.systemPromptLength + options.questionLength,
        maxTokens: options.outputLength,
      };
      return options.api === 'chat'
        ? {
            ...common,
            api: 'chat',
            messages: [
              { role: 'system', content: systemPrompt },
              { role: 'user', content: question },
            ],
          }
        : { ...common, api: 'completions', prompt: systemPrompt + question };
    },
    complete() {
      // Shared-prefix prompts do not depend on earlier responses.
    },
  };
}
