import { z } from 'zod';
import type { PromptVocabulary } from './prompt-vocabulary.js';
import { createSeededRandom, deriveSeed } from './seeded-random.js';
import type { BenchChatMessage, BenchRequest, Workload, WorkloadCompletion } from './workload.js';

const positiveCount = z.coerce.number().int().positive();

/**
 * Chat conversations that grow turn by turn: each request carries the user's whole history, so a
 * router that keeps a user on the replica holding its history gets prefix-cache hits.
 */
export const multiTurnWorkloadSchema = z.object({
  type: z.literal('multi-turn'),
  users: positiveCount.max(100_000).default(10).describe('concurrent conversations'),
  turns: positiveCount.max(1000).default(5).describe('user turns per conversation before it starts over'),
  turnLength: positiveCount.default(200).describe('tokens of each user message'),
  outputLength: positiveCount.default(200).describe('tokens to generate per turn (max_tokens)'),
  systemPromptLength: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('tokens of a per-conversation system prompt (0: none)'),
  assistantReplies: z
    .enum(['response', 'synthetic'])
    .default('response')
    .describe(
      'history holds the text the server streamed (realistic), or generated text of outputLength tokens (prompts independent of responses)',
    ),
  seed: z.coerce.number().int().default(0),
});

export type MultiTurnWorkloadInput = z.input<typeof multiTurnWorkloadSchema>;
export type MultiTurnWorkloadOptions = z.output<typeof multiTurnWorkloadSchema>;

const streams = { systemPrompt: 11, userMessage: 12, assistantReply: 13 } as const;

interface UserState {
  readonly index: number;
  conversation: number;
  turn: number;
  history: BenchChatMessage[];
  historyTokens: number;
  busy: boolean;
}

interface InFlightTurn {
  user: UserState;
  message: BenchChatMessage;
}

/**
 * Users take turns round-robin; a user whose previous turn has not finished is skipped, so its
 * turns are strictly ordered while other users proceed. After `turns` turns a user starts a new
 * conversation with fresh content, which keeps the workload endless.
 *
 * A failed turn is dropped from the history (as if the user asked something else next). With
 * `assistantReplies: 'response'` the history's token count uses the server's output token count,
 * which re-tokenization of the reply text may not match exactly.
 */
export function createMultiTurnWorkload(
  options: MultiTurnWorkloadOptions,
  vocabulary: PromptVocabulary,
): Workload {
  const users: UserState[] = Array.from({ length: options.users }, (_, index) => ({
    index,
    conversation: 0,
    turn: 0,
    history: [],
    historyTokens: 0,
    busy: false,
  }));
  const inFlight = new Map<string, InFlightTurn>();
  let cursor = 0;

  const startConversation = (user: UserState) => {
    user.turn = 0;
    user.history = [];
    user.historyTokens = 0;
    if (options.systemPromptLength > 0) {
      const random = createSeededRandom(
        deriveSeed(options.seed, streams.systemPrompt, user.index, user.conversation),
      );
      user.history.push({ role: 'system', content: vocabulary.text(random, options.systemPromptLength) });
      user.historyTokens = options.systemPromptLength;
    }
  };
  for (const user of users) startConversation(user);

  const requestFor = (user: UserState): BenchRequest => {
    const random = createSeededRandom(
      deriveSeed(options.seed, streams.userMessage, user.index, user.conversation, user.turn),
    );
    const message: BenchChatMessage = { role: 'user', content: vocabulary.text(random, options.turnLength) };
    const id = `multi-turn-${user.index}-${user.conversation}-${user.turn}`;
    user.busy = true;
    inFlight.set(id, { user, message });
    return {
      id,
      userKey: `user-${user.index}`,
      api: 'chat',
      messages: [...user.history, message],
      promptTokens: user.historyTokens + options.turnLength,
      maxTokens: options.outputLength,
    };
  };

  const assistantReply = (user: UserState, completion: WorkloadCompletion): [string, number] => {
    if (options.assistantReplies === 'response') return [completion.text, completion.outputTokens];
    const random = createSeededRandom(
      deriveSeed(options.seed, streams.assistantReply, user.index, user.conversation, user.turn),
    );
    return [vocabulary.text(random, options.outputLength), options.outputLength];
  };

  return {
    description: { ...options },
    unit: vocabulary.unit,
    next() {
      for (let checked = 0; checked < users.length; checked++) {
        const user = users[cursor] as UserState;
        cursor = (cursor + 1) % users.length;
        if (!user.busy) return requestFor(user);
      }
      return undefined;
    },
    complete(request, completion) {
      const turn = inFlight.get(request.id);
      if (turn === undefined) return;
      inFlight.delete(request.id);
      const { user, message } = turn;
      if (completion.ok) {
        const [content, tokens] = assistantReply(user, completion);
        user.history.push(message, { role: 'assistant', content });
        user.historyTokens += options.turnLength + tokens;
      }
      user.turn++;
      if (user.turn >= options.turns) {
        user.conversation++;
        startConversation(user);
      }
      user.busy = false;
    },
  };
}
