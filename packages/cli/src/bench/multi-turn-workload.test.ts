import { describe, expect, it } from 'vitest';
import { createPromptVocabulary } from './prompt-vocabulary.js';
import { loadQwen3Tokenizer } from './testing-tokenizer.js';
import type { BenchRequest, ChatBenchRequest } from './workload.js';
import { createWorkload } from './workloads.js';

const chat = (request: BenchRequest) => request as ChatBenchRequest;

describe('multi-turn workload', () => {
  const options = {
    type: 'multi-turn',
    users: 2,
    turns: 2,
    turnLength: 6,
    outputLength: 4,
    seed: 3,
  } as const;

  it('holds a user back until its previous turn completed, while other users proceed', () => {
    const workload = createWorkload(options);
    const first = chat(workload.next() as BenchRequest);
    const second = chat(workload.next() as BenchRequest);
    expect([first.userKey, second.userKey]).toEqual(['user-0', 'user-1']);
    expect(workload.next()).toBeUndefined();

    workload.complete(second, { ok: true, text: ' reply of one', outputTokens: 3 });
    const next = chat(workload.next() as BenchRequest);
    expect(next.userKey).toBe('user-1');
    expect(next.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'user']);
    expect(next.messages[0]).toEqual(second.messages[0]);
    expect(next.messages[1]).toEqual({ role: 'assistant', content: ' reply of one' });
    expect(next.promptTokens).toBe(6 + 3 + 6);
    expect(workload.next()).toBeUndefined();
  });

  it('starts a fresh conversation after the last turn and drops failed turns from the history', () => {
    const workload = createWorkload({ ...options, users: 1, turns: 3 });
    const turn0 = chat(workload.next() as BenchRequest);
    workload.complete(turn0, { ok: false, text: '', outputTokens: 0 });
    const turn1 = chat(workload.next() as BenchRequest);
    expect(turn1.messages).toHaveLength(1);
    expect(turn1.messages[0]).not.toEqual(turn0.messages[0]);
    workload.complete(turn1, { ok: true, text: ' ok', outputTokens: 1 });
    const turn2 = chat(workload.next() as BenchRequest);
    expect(turn2.messages).toHaveLength(3);
    workload.complete(turn2, { ok: true, text: ' ok', outputTokens: 1 });
    const nextConversation = chat(workload.next() as BenchRequest);
    expect(nextConversation.messages).toHaveLength(1);
    expect(nextConversation.id).toBe('multi-turn-0-1-0');
    expect(nextConversation.promptTokens).toBe(6);
  });

  it('uses generated replies and a system prompt when asked, with exact Qwen3 counts', async () => {
    const tokenizer = await loadQwen3Tokenizer();
    const vocabulary = createPromptVocabulary(tokenizer);
    const run = () => {
      const workload = createWorkload(
        { ...options, users: 1, turns: 3, systemPromptLength: 20, assistantReplies: 'synthetic' },
        { vocabulary },
      );
      const requests: ChatBenchRequest[] = [];
      for (let turn = 0; turn < 3; turn++) {
        const request = chat(workload.next() as BenchRequest);
        requests.push(request);
        workload.complete(request, { ok: true, text: 'ignored', outputTokens: 99 });
      }
      return requests;
    };
    const requests = run();
    expect(requests).toEqual(run());
    const last = requests[2] as ChatBenchRequest;
    expect(last.messages.map((message) => message.role)).toEqual([
      'system',
      'user',
      'assistant',
      'user',
      'assistant',
      'user',
    ]);
    expect(last.promptTokens).toBe(20 + 3 * 6 + 2 * 4);
    const contentTokens = last.messages.reduce(
      (sum, message) => sum + tokenizer.encode(message.content, { addSpecialTokens: false }).length,
      0,
    );
    expect(contentTokens).toBe(last.promptTokens);
  });
});
