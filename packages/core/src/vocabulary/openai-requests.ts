import { z } from 'zod';

/**
 * The parts of OpenAI-compatible request bodies that llmd reads. Objects are `loose`: unknown fields
 * are kept, because gateways forward the body to the model server and must not lose what vLLM
 * understands and we do not (sampling parameters, guided decoding, …).
 */

const tokenIdSchema = z.number().int().min(0).max(0xffffffff);

export const completionPromptSchema = z.union([
  z.string(),
  z.array(z.string()).min(1),
  z.array(tokenIdSchema).min(1),
  z.array(z.array(tokenIdSchema).min(1)).min(1),
]);

const stopSchema = z.union([z.string(), z.array(z.string()).max(16)]).nullish();

const streamOptionsSchema = z
  .object({ include_usage: z.boolean().nullish(), continuous_usage_stats: z.boolean().nullish() })
  .loose()
  .nullish();

const commonRequestFields = {
  model: z.string().min(1),
  stream: z.boolean().nullish(),
  stream_options: streamOptionsSchema,
  max_tokens: z.number().int().min(0).nullish(),
  n: z.number().int().min(1).nullish(),
  stop: stopSchema,
  ignore_eos: z.boolean().nullish(),
  /** vLLM: isolates prefix-cache reuse between tenants; enters the hash of block 0. */
  cache_salt: z.string().min(1).nullish(),
  kv_transfer_params: z.record(z.string(), z.unknown()).nullish(),
  user: z.string().nullish(),
  priority: z.number().int().nullish(),
};

export const completionRequestSchema = z
  .object({
    ...commonRequestFields,
    prompt: completionPromptSchema,
    echo: z.boolean().nullish(),
  })
  .loose();
export type CompletionRequest = z.output<typeof completionRequestSchema>;

const textContentPartSchema = z.object({ type: z.literal('text'), text: z.string() }).loose();
// vLLM keeps growing its list of part types (image_embeds, audio_url, thinking, …) and plugins add
// more, so any other typed part passes through; only text parts are read here.
const otherContentPartSchema = z
  .object({
    type: z.string().refine((type) => type !== 'text', { error: 'a text part needs a string text field' }),
  })
  .loose();
export const chatContentPartSchema = z.union([textContentPartSchema, otherContentPartSchema]);

export const chatToolCallSchema = z
  .object({
    id: z.string().optional(),
    type: z.literal('function').optional(),
    function: z
      .object({ name: z.string(), arguments: z.union([z.string(), z.record(z.string(), z.unknown())]) })
      .loose(),
  })
  .loose();

export const chatMessageSchema = z
  .object({
    // vLLM accepts any role (Llama's `ipython`, custom template roles) and leaves it to the template.
    role: z.string().min(1),
    content: z.union([z.string(), z.array(chatContentPartSchema), z.null()]).optional(),
    name: z.string().optional(),
    tool_calls: z.array(chatToolCallSchema).optional(),
    tool_call_id: z.string().optional(),
    reasoning_content: z.string().nullish(),
  })
  .loose();
export type ChatMessage = z.output<typeof chatMessageSchema>;

export const chatToolSchema = z
  .object({
    type: z.literal('function'),
    function: z
      .object({
        name: z.string().min(1),
        description: z.string().optional(),
        parameters: z.record(z.string(), z.unknown()).optional(),
      })
      .loose(),
  })
  .loose();
export type ChatTool = z.output<typeof chatToolSchema>;

export const chatCompletionRequestSchema = z
  .object({
    ...commonRequestFields,
    messages: z.array(chatMessageSchema).min(1),
    max_completion_tokens: z.number().int().min(0).nullish(),
    tools: z.array(chatToolSchema).nullish(),
    add_generation_prompt: z.boolean().nullish(),
    continue_final_message: z.boolean().nullish(),
    chat_template_kwargs: z.record(z.string(), z.unknown()).nullish(),
  })
  .loose();
export type ChatCompletionRequest = z.output<typeof chatCompletionRequestSchema>;

/** The text of a chat message: its string content, or its text parts joined (other parts carry no text). */
export function chatMessageText(message: Pick<ChatMessage, 'content'>): string {
  if (typeof message.content === 'string') return message.content;
  if (!Array.isArray(message.content)) return '';
  return message.content
    .map((part) => ('text' in part && typeof part.text === 'string' ? part.text : ''))
    .join('');
}
