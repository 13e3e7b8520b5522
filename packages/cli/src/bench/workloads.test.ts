import { ValidationError } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { createPromptVocabulary } from './prompt-vocabulary.js';
import { createWorkload, workloadTypes } from './workloads.js';

describe('createWorkload', () => {
  it('builds each workload type, with words when no tokenizer is given', () => {
    for (const type of workloadTypes) {
      const workload = createWorkload({ type });
      expect(workload.description.type).toBe(type);
      expect(workload.unit).toBe('words');
      expect(workload.next()).toBeDefined();
    }
  });

  it('uses a vocabulary built earlier', () => {
    const vocabulary = { ...createPromptVocabulary(), unit: 'tokens' as const };
    expect(createWorkload({ type: 'random' }, { vocabulary }).unit).toBe('tokens');
  });

  it('names the invalid field', () => {
    expect(() => createWorkload({ type: 'multi-turn', users: 0 })).toThrow(/workload users/);
    expect(() => createWorkload({ type: 'unknown' } as never)).toThrow(ValidationError);
  });
});
