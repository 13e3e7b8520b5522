import { describe, expect, it } from 'vitest';
import { loadQwen3Tokenizer } from './testing-tokenizer.js';
import type { BenchRequest, CompletionBenchRequest, Workload } from './workload.js';
import { createWorkload } from './workloads.js';

function take(workload: Workload, count: number): BenchRequest[] {
  return Array.from({ length: count }, () => {
    const request = workload.next();
    if (request === undefined) throw new Error('workload blocked');
    return request;
  });
}

const completion = (request: BenchRequest) => request as CompletionBenchRequest;

describe('random workload', () => {
  it('draws prompt lengths inside the range, deterministically', async () => {
    const tokenizer = await loadQwen3Tokenizer();
    const options = { type: 'random', promptLength: { min: 10, max: 30 }, outputLength: 7, seed: 4 } as const;
    const requests = take(createWorkload(options, { tokenizer }), 20).map(completion);
    expect(requests).toEqual(take(createWorkload(options, { tokenizer }), 20));
    for (const request of requests) {
      expect(request.promptTokens).toBeGreaterThanOrEqual(10);
      expect(request.promptTokens).toBeLessThanOrEqual(30);
      expect(tokenizer.encode(request.prompt)).toHaveLength(request.promptTokens);
      expect(request.maxTokens).toBe(7);
    }
    expect(new Set(requests.map((request) => request.promptTokens)).size).toBeGreaterThan(1);
  });

  it('accepts a fixed length and rejects an inverted range', () => {
    const [request] = take(createWorkload({ type: 'random', promptLength: 12 }), 1);
    expect(request?.promptTokens).toBe(12);
    expect(() => createWorkload({ type: 'random', promptLength: { min: 5, max: 4 } })).toThrow(
      /workload promptLength/,
    );
  });
});
