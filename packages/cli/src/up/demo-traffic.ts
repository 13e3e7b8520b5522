import type { CliIo } from '../cli-io.js';
import type { LocalStack } from './local-stack.js';

const systemPrompts = [
  'You are a meticulous travel planner. Always list trains before flights, give prices in euros, and explain the trade-offs of each option in two sentences. ',
  'You are a senior Go reviewer. Point out data races first, then error handling, then naming, and quote the offending line for every remark you make. ',
  'You are a patient chemistry tutor for high-school students. Use one everyday analogy per answer and end with a short question that checks understanding. ',
];
const questions = [
  'Where should I start?',
  'What is the most common mistake?',
  'Summarise that in one line.',
];

/**
 * Sends a little traffic through the gateway — three conversations with long shared system
 * prompts, interleaved — and prints where the scheduler sent each request and how much of the
 * prompt the pod had cached. Repeated prefixes should stick to one pod.
 */
export async function runDemoTraffic(
  stack: LocalStack,
  routed: Map<string, ReadonlyArray<string>>,
  io: CliIo,
): Promise<void> {
  const podIndex = new Map(stack.pods.map((pod, index) => [pod.endpoint, index]));
  io.writeStdout('\nDemo traffic (3 conversations with long shared system prompts, interleaved):\n');
  for (const [turn, question] of questions.entries()) {
    for (const [conversation, system] of systemPrompts.entries()) {
      const requestId = `demo-${conversation}-${turn}`;
      const response = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': requestId },
        body: JSON.stringify({
          model: stack.modelName,
          messages: [
            { role: 'system', content: system.repeat(20) },
            { role: 'user', content: question },
          ],
          max_tokens: 8,
        }),
      });
      const body = (await response.json()) as {
        usage?: { prompt_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } };
      };
      const target = routed.get(requestId)?.[0] ?? '?';
      const prompt = body.usage?.prompt_tokens ?? 0;
      const cached = body.usage?.prompt_tokens_details?.cached_tokens ?? 0;
      io.writeStdout(
        `  conversation ${conversation + 1}, turn ${turn + 1} → pod ${podIndex.get(target) ?? '?'} (${target}), HTTP ${response.status}, ${cached}/${prompt} prompt tokens cached\n`,
      );
    }
  }
  io.writeStdout('\n');
}
