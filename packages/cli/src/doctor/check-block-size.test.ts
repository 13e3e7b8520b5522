import { describe, expect, it } from 'vitest';
import { checkBlockSize } from './check-block-size.js';

const engine = (endpointKey: string, fromEvents: number[], fromMetrics?: number, irregularEvents = 0) => ({
  endpointKey,
  fromEvents,
  fromMetrics,
  irregularEvents,
});

describe('checkBlockSize', () => {
  it('accepts engine blocks that are multiples of the index block', () => {
    expect(checkBlockSize([engine('a:1', [64], 64)], 16).map((item) => [item.status, item.message])).toEqual([
      ['ok', 'a:1 publishes 64-token blocks; the index splits each into 4 blocks of 16'],
    ]);
  });

  it('suggests a size that divides both when the engine block is not a multiple', () => {
    const [problem] = checkBlockSize([engine('a:1', [24])], 16);
    expect(problem?.status).toBe('fail');
    expect(problem?.message).toContain("set the index's --block-size to 24 (or 8)");
  });

  it('warns when events and metrics disagree, tokens do not fill blocks, or engines differ', () => {
    const findings = checkBlockSize([engine('a:1', [256], 16, 2), engine('b:1', [], 32)], undefined);
    expect(findings.map((item) => `${item.status} ${item.message}`)).toEqual([
      expect.stringMatching(/^warn a:1's events carry 256-token blocks but its metrics report block_size 16/),
      expect.stringMatching(/^warn a:1: 2 event\(s\) carry a token count that is not blocks × block_size/),
      expect.stringMatching(/^warn the engines use different block sizes \(a:1: 256, b:1: 32\)/),
    ]);
  });
});
