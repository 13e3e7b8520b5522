import { parseWithSchema, type Tokenizer } from '@llmd/core';
import { z } from 'zod';
import { createMultiTurnWorkload, multiTurnWorkloadSchema } from './multi-turn-workload.js';
import { createPromptVocabulary, type PromptVocabulary } from './prompt-vocabulary.js';
import { createRandomWorkload, randomWorkloadSchema } from './random-workload.js';
import { createSharedPrefixWorkload, sharedPrefixWorkloadSchema } from './shared-prefix-workload.js';
import type { Workload } from './workload.js';

/** Every workload's options, told apart by `type`. */
export const workloadOptionsSchema = z.discriminatedUnion('type', [
  sharedPrefixWorkloadSchema,
  multiTurnWorkloadSchema,
  randomWorkloadSchema,
]);

export type WorkloadInput = z.input<typeof workloadOptionsSchema>;
export type WorkloadOptions = z.output<typeof workloadOptionsSchema>;
export type WorkloadType = WorkloadOptions['type'];
export const workloadTypes = [
  'shared-prefix',
  'multi-turn',
  'random',
] as const satisfies readonly WorkloadType[];

export interface CreateWorkloadOptions {
  /**
   * The model's tokenizer: prompt lengths are then exact token counts. Without it, prompts are
   * made-up words and lengths are in words (exact under the simulator's word tokenizer).
   */
  tokenizer?: Tokenizer | undefined;
  /** A vocabulary built earlier (it takes a moment to build from a large tokenizer); wins over `tokenizer`. */
  vocabulary?: PromptVocabulary | undefined;
}

/** Validate workload options (`invalid_argument` naming the field on failure) and build the workload. */
export function createWorkload(input: WorkloadInput, options: CreateWorkloadOptions = {}): Workload {
  const parsed = parseWithSchema(workloadOptionsSchema, input, 'invalid_argument', 'workload');
  const vocabulary = options.vocabulary ?? createPromptVocabulary(options.tokenizer);
  switch (parsed.type) {
    case 'shared-prefix':
      return createSharedPrefixWorkload(parsed, vocabulary);
    case 'multi-turn':
      return createMultiTurnWorkload(parsed, vocabulary);
    case 'random':
      return createRandomWorkload(parsed, vocabulary);
  }
}
