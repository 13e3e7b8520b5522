import { describe, expect, it } from 'vitest';
import { promptUnits, replayOracle } from './oracle-hit-rate.js';
import { createPromptVocabulary } from './prompt-vocabulary.js';
import type { BenchRequest, Workload } from './workload.js';
import { createWorkload } from './workloads.js';

/** A workload that replays fixed prompts (units written as `a b c …`), for exact expectations. */
function fixedPrompts(prompts: readonly string[]): Workload {
  let index = 0;
  return {
    description: { type: 'fixed' },
    unit: 'words',
    next(): BenchRequest {
      const prompt = prompts[index % prompts.length] as string;
      return { id: `fixed-${index++}`, api: 'completions', prompt, promptTokens: 0, maxTokens: 1 };
    },
    complete() {},
  };
}

/** `count` space-led words named `prefix0 prefix1 …`. */
function words(prefix: string, count: number): string {
  return Array.from({ length: count }, (_, index) => ` ${prefix}${index}`).join('');
}

describe('promptUnits', () => {
  it('splits prompts into space-led words and marks chat roles and message ends', () => {
    expect(
      promptUnits({ id: 'a', api: 'completions', prompt: ' one two three', promptTokens: 3, maxTokens: 1 }),
    ).toEqual([' one', ' two', ' three']);
    expect(
      promptUnits({
        id: 'b',
        api: 'chat',
        messages: [
          { role: 'system', content: ' be brief' },
          { role: 'user', content: ' hi' },
        ],
        promptTokens: 3,
        maxTokens: 1,
      }),
    ).toEqual(['<|system|>', ' be', ' brief', '<|end|>', '<|user|>', ' hi', '<|end|>']);
  });
});

describe('replayOracle', () => {
  it('counts whole cached blocks of the longest prefix, keeping the last unit uncached', () => {
    // Two prompts sharing 8 of their 10 words; blocks of 4 words.
    const shared = words('s', 8);
    const oracle = replayOracle(
      fixedPrompts([shared + words('a', 2), shared + words('b', 2), shared + words('a', 2)]),
      {
        pods: 1,
        blocksPerPod: 100,
        blockSize: 4,
        requestsPerStep: [3],
      },
    );
    // 1st: cold. 2nd: the 2 shared blocks. 3rd: a full repeat, but only ⌊9 / 4⌋ = 2 blocks may hit.
    expect(oracle.steps).toEqual([
      { index: 0, requests: 3, promptUnits: 30, cachedUnits: 16, hitRate: 16 / 30 },
    ]);
    expect(oracle.hitRate).toBe(16 / 30);
  });

  it('sends each prefix to the pod holding it, so two pods keep two groups that one pod would thrash', () => {
    const groupA = words('a', 16);
    const groupB = words('b', 16);
    const sequence = [
      groupA + words('x', 1),
      groupB + words('y', 1),
      groupA + words('z', 1),
      groupB + words('w', 1),
    ];
    const twoPods = replayOracle(fixedPrompts(sequence), {
      pods: 2,
      blocksPerPod: 4,
      blockSize: 4,
      requestsPerStep: [4],
    });
    // New groups land on the least recently used pod; the repeats find their group's 4 blocks.
    expect(twoPods.steps[0]?.cachedUnits).toBe(2 * 16);
    const onePod = replayOracle(fixedPrompts(sequence), {
      pods: 1,
      blocksPerPod: 4,
      blockSize: 4,
      requestsPerStep: [4],
    });
    // One pod holds one group's 4 blocks: each group evicts the other.
    expect(onePod.steps[0]?.cachedUnits).toBe(0);
  });

  it('evicts the least recently used blocks, tail blocks of a request before its head', () => {
    const head = words('h', 8);
    // Capacity 3 blocks: the 2 head blocks plus one more. A 4-block prompt leaves the head and its 3rd block.
    const oracle = replayOracle(
      fixedPrompts([head + words('a', 8), head + words('b', 5), head + words('a', 5)]),
      {
        pods: 1,
        blocksPerPod: 3,
        blockSize: 4,
        requestsPerStep: [1, 2],
      },
    );
    // Request 2 finds the head (2 blocks); request 3 finds the head, and its own 3rd block was evicted.
    expect(oracle.steps.map((step) => step.cachedUnits)).toEqual([0, 16]);
    expect(oracle.steps.map((step) => step.requests)).toEqual([1, 2]);
  });

  it('replays a seeded shared-prefix workload the same way every time, carrying the cache across steps', () => {
    const options = {
      type: 'shared-prefix',
      numGroups: 4,
      promptsPerGroup: 3,
      systemPromptLength: 64,
      questionLength: 8,
      outputLength: 1,
      seed: 3,
    } as const;
    const vocabulary = createPromptVocabulary();
    const replay = () =>
      replayOracle(createWorkload(options, { vocabulary }), {
        pods: 2,
        blocksPerPod: 1000,
        blockSize: 8,
        requestsPerStep: [12, 12],
      });
    const first = replay();
    expect(replay()).toEqual(first);
    // First pass: each group's first prompt is cold, the other two hit the 64-word prefix (8 blocks).
    expect(first.steps[0]?.cachedUnits).toBe(4 * 2 * 64);
    // Second pass: every prompt is cached whole but for its last unit (⌊71 / 8⌋ = 8 blocks).
    expect(first.steps[1]?.cachedUnits).toBe(12 * 64);
    expect(first.hitRate).toBeCloseTo((8 * 64 + 12 * 64) / (24 * 72), 10);
  });

  it('rejects impossible settings naming the field', () => {
    expect(() =>
      replayOracle(fixedPrompts(['x']), { pods: 0, blocksPerPod: 1, blockSize: 1, requestsPerStep: [1] }),
    ).toThrow(/pods/);
  });
});
