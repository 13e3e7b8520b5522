import { z } from 'zod';
import { parseWithSchema, ValidationError } from '../errors/validation-error.js';
import { type ChatMessage, type ChatTool, chatMessageSchema, chatToolSchema } from '../vocabulary/index.js';

export type { ChatMessage, ChatTool };

// The message and tool shapes belong to the shared OpenAI vocabulary; this module only adds what
// rendering needs on top of them.
const chatRequestSchema = z.object({
  messages: z.array(chatMessageSchema).min(1, 'a chat request needs at least one message'),
  tools: z.array(chatToolSchema).optional(),
});

/** A validated message whose content is a plain string, as string-format chat templates expect. */
export type TemplateChatMessage = Omit<ChatMessage, 'content'> & { content: string };

export interface ValidatedChatRequest {
  messages: TemplateChatMessage[];
  tools: ChatTool[] | undefined;
}

export interface ValidateChatRequestOptions {
  /**
   * Accept image, audio and other non-text content parts. Only a backend that renders them itself
   * (vLLM's render endpoint) may; in-process templates would silently drop them and miscount tokens.
   */
  allowNonTextParts?: boolean;
}

/**
 * Validate chat messages and tools coming from a caller. Failures throw a `ValidationError` with code
 * `invalid_request` whose path names the field (`messages[1].role`).
 */
export function validateChatRequest(
  messages: unknown,
  tools?: unknown,
  options: ValidateChatRequestOptions = {},
): ValidatedChatRequest {
  const parsed = parseWithSchema(chatRequestSchema, { messages, tools }, 'invalid_request', 'chat request');
  if (options.allowNonTextParts !== true) rejectNonTextParts(parsed.messages);
  return {
    messages: parsed.messages.map(templateMessage),
    tools: parsed.tools,
  };
}

/** A message shaped as vLLM hands it to the template (see `_postprocess_messages` in its chat_utils). */
function templateMessage(message: ChatMessage): TemplateChatMessage {
  const shaped: TemplateChatMessage = { ...message, content: flattenContent(message.content) };
  if (message.role !== 'assistant' || message.tool_calls === undefined) return shaped;
  if (message.tool_calls.length === 0) {
    // An empty list would send templates that test `'tool_calls' in message` down the tool-call path.
    delete shaped.tool_calls;
    return shaped;
  }
  shaped.tool_calls = message.tool_calls.map((call) => ({
    ...call,
    function: { ...call.function, arguments: templateArguments(call.function.arguments) },
  }));
  return shaped;
}

/**
 * Tool-use templates expect arguments as a mapping (they print it with `tojson`), while OpenAI
 * clients send a JSON string: vLLM parses it, and an empty string becomes `{}`. A string that is not
 * a JSON object is kept as it is, so the template still sees what the caller wrote.
 */
function templateArguments(value: string | Record<string, unknown>): string | Record<string, unknown> {
  if (typeof value !== 'string') return value;
  if (value === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return value;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : value;
}

function rejectNonTextParts(messages: readonly ChatMessage[]): void {
  for (const [messageIndex, message] of messages.entries()) {
    if (!Array.isArray(message.content)) continue;
    for (const [partIndex, part] of message.content.entries()) {
      if (part.type === 'text') continue;
      throw new ValidationError('invalid_request', 'chat request', [
        {
          code: 'custom',
          path: ['messages', messageIndex, 'content', partIndex, 'type'],
          message: `${part.type} content cannot be rendered in-process; use the vLLM render client for multimodal requests`,
          input: part.type,
        },
      ]);
    }
  }
}

/**
 * String-format templates (Qwen, Llama, …) concatenate `message.content`, so text parts are joined
 * with newlines and a missing content becomes the empty string, as vLLM does for such templates.
 */
function flattenContent(content: ChatMessage['content']): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => ('text' in part && typeof part.text === 'string' ? part.text : '')).join('\n');
}
