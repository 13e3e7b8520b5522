import { chatMessageText } from '@llmd/core';
import { tokenizedPromptAttribute } from '../../../plugin/data-keys.js';
import type { InferenceRequestBody, SchedulingRequest } from '../../../plugin/scheduling-request.js';

/** llm-d's estimate: 4 bytes of serialised prompt per pseudo-token (the last partial word counts). */
const bytesPerEstimatedToken = 4;
const encoder = new TextEncoder();

function estimatedTokens(text: string): number {
  return Math.ceil(encoder.encode(text).byteLength / bytesPerEstimatedToken);
}

/**
 * Estimates the prompt length from the body the way llm-d's `estimate` tokenizer serialises it:
 * chat = tools JSON, then each message's role and text; completions = the prompt text. Token-id
 * prompts are counted exactly. Undefined when the body carries no prompt.
 */
export function estimatePromptTokens(body: InferenceRequestBody | undefined): number | undefined {
  if (!body) return undefined;
  if (body.messages) {
    let text = body.tools && body.tools.length > 0 ? JSON.stringify(body.tools) : '';
    for (const message of body.messages) text += message.role + chatMessageText(message);
    return estimatedTokens(text);
  }
  const prompt = body.prompt;
  if (prompt === undefined) return undefined;
  if (typeof prompt === 'string') return estimatedTokens(prompt);
  let total = 0;
  for (const item of prompt) {
    if (typeof item === 'string') total += estimatedTokens(item);
    else if (typeof item === 'number') total += 1;
    else total += item.length;
  }
  return total;
}

/** The prompt's token count: from the tokenized prompt when a producer wrote one, else estimated. */
export function promptTokenCount(request: SchedulingRequest): number | undefined {
  const tokenized = request.attributes.get(tokenizedPromptAttribute);
  return tokenized ? tokenized.tokenIds.length : estimatePromptTokens(request.body);
}
