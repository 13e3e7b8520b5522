import { ValidationError } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { loadQwen3Tokenizer } from './testing-tokenizer.js';
import type { BenchRequest, ChatBenchRequest, CompletionBenchRequest, Workload } from './workload.js';
import { createWorkload } from './workloads.js';

function take(workload: Workload, count: number): BenchRequest[] {
  return Array.from({ length: count }, () => {
    const request = workload.next();
    if (request === undefined) throw new Error('workload blocked');
    return request;
  });
}

const completion = (request: BenchRequest) => request as CompletionBenchRequest;
const chat = (request: BenchRequest) => request as ChatBenchRequest;

describe('shared-prefix workload', () => {
  const options = {
    type: 'shared-prefix',
    numGroups: 3,
    promptsPerGroup: 2,
    systemPromptLength: 40,
    questionLength: 8,
    outputLength: 5,
    seed: 1,
  } as const;

  it('sends every (group, user) prompt once per pass, then repeats the same prompts', () => {
    const requests = take(createWorkload(options), 12).map(completion);
    const firstPass = requests.slice(0, 6);
    const secondPass = requests.slice(6);
    expect(new Set(firstPass.map((request) => request.userKey)).size).toBe(6);
    const promptsByUser = new Map(firstPass.map((request) => [request.userKey, request.prompt]));
    for (const request of secondPass) expect(request.prompt).toBe(promptsByUser.get(request.userKey));
    expect(new Set(requests.map((request) => request.id)).size).toBe(12);
    for (const request of requests) {
      expect(request).toMatchObject({ api: 'completions', promptTokens: 48, maxTokens: 5 });
    }
  });

  it('shares the system prompt within a group and not across groups', () => {
    const requests = take(createWorkload(options), 6).map(completion);
    const prefix = (request: CompletionBenchRequest) => request.prompt.split(' ').slice(0, 41).join(' ');
    const byGroup = new Map<string, Set<string>>();
    for (const request of requests) {
      const group = (request.userKey as string).split('-user-')[0] as string;
      byGroup.set(group, (byGroup.get(group) ?? new Set()).add(prefix(request)));
    }
    expect(byGroup.size).toBe(3);
    for (const prefixes of byGroup.values()) expect(prefixes.size).toBe(1);
    expect(new Set([...byGroup.values()].map((prefixes) => [...prefixes][0])).size).toBe(3);
    // Users of one group ask different questions.
    expect(new Set(requests.map((request) => request.prompt)).size).toBe(6);
  });

  it('is deterministic for a seed', () => {
    expect(take(createWorkload(options), 8)).toEqual(take(createWorkload(options), 8));
    expect(take(createWorkload(options), 8)).not.toEqual(take(createWorkload({ ...options, seed: 2 }), 8));
  });

  it('has exact Qwen3 token counts', async () => {
    const tokenizer = await loadQwen3Tokenizer();
    const workload = createWorkload(
      { ...options, systemPromptLength: 600, questionLength: 120 },
      { tokenizer },
    );
    expect(workload.unit).toBe('tokens');
    for (const request of take(workload, 6).map(completion)) {
      expect(request.promptTokens).toBe(720);
      expect(tokenizer.encode(request.prompt)).toHaveLength(720);
    }
  });

  it('sends a system and a user message on the chat API', () => {
    const [request] = take(createWorkload({ ...options, api: 'chat' }), 1).map(chat);
    expect(request?.messages.map((message) => message.role)).toEqual(['system', 'user']);
    expect(request?.messages[0]?.content.trim().split(' ')).toHaveLength(40);
    expect(request?.messages[1]?.content.trim().split(' ')).toHaveLength(8);
  });

  it('defaults to the inference-perf high-cache shape and names invalid fields', () => {
    expect(createWorkload({ type: 'shared-prefix' }).description).toMatchObject({
      numGroups: 150,
      promptsPerGroup: 5,
      systemPromptLength: 6000,
      questionLength: 1200,
      outputLength: 1000,
    });
    expect(() => createWorkload({ type: 'shared-prefix', numGroups: 0 })).toThrow(ValidationError);
    expect(() => createWorkload({ type: 'shared-prefix', numGroups: 0 })).toThrow(/workload numGroups/);
    expect(() => createWorkload({ type: 'unknown' } as never)).toThrow(ValidationError);
  });
});
