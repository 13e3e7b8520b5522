import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  chatMessageSchema,
  chatToolSchema,
  completionPromptSchema,
  describeFirstIssue,
  LlmdError,
} from '@llmd/core';
import { z } from 'zod';
import { HttpError, readJsonBody, sendJson } from './http-utilities.js';
import type { SimPodContext } from './sim-pod-context.js';

const tokenizePromptSchema = z
  .object({ model: z.string().optional(), prompt: z.string(), add_special_tokens: z.boolean().optional() })
  .loose();
const chatFieldsSchema = z
  .object({
    model: z.string().optional(),
    messages: z.array(chatMessageSchema).min(1),
    tools: z.array(chatToolSchema).nullish(),
    add_generation_prompt: z.boolean().optional(),
    chat_template_kwargs: z.record(z.string(), z.unknown()).nullish(),
  })
  .loose();
const tokenizeRequestSchema = z.union([tokenizePromptSchema, chatFieldsSchema]);

const detokenizeRequestSchema = z
  .object({ model: z.string().optional(), tokens: z.array(z.number().int().min(0)) })
  .loose();
const completionRenderSchema = z.object({ model: z.string(), prompt: completionPromptSchema }).loose();
const chatRenderSchema = chatFieldsSchema.extend({ model: z.string() });
const loadLoraSchema = z.object({ lora_name: z.string().min(1), lora_path: z.string().optional() }).loose();
const unloadLoraSchema = z.object({ lora_name: z.string().min(1) }).loose();

async function readBody<Schema extends z.ZodType>(
  request: IncomingMessage,
  context: SimPodContext,
  schema: Schema,
): Promise<z.output<Schema>> {
  const raw = await readJsonBody(request, context.config.maxRequestBodySizeMb * 1024 * 1024);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new HttpError(400, describeFirstIssue(parsed.error.issues));
  return parsed.data;
}

function checkModel(context: SimPodContext, model: string | undefined): void {
  if (model === undefined || context.servedModelNames.includes(model) || context.loras.has(model)) return;
  throw new HttpError(404, `The model \`${model}\` does not exist.`, 'NotFoundError', 'model');
}

function renderChatTokens(context: SimPodContext, body: z.output<typeof chatFieldsSchema>) {
  try {
    const text = context.tokenizer.applyChatTemplate(body.messages, {
      tools: body.tools ?? undefined,
      addGenerationPrompt: body.add_generation_prompt ?? true,
      templateKwargs: body.chat_template_kwargs ?? undefined,
    });
    return { text, tokens: context.tokenizer.encode(text, { addSpecialTokens: false }) };
  } catch (error) {
    if (LlmdError.isInstance(error)) throw new HttpError(400, error.message, 'BadRequestError', 'messages');
    throw error;
  }
}

/** vLLM `POST /tokenize`: `{count, max_model_len, tokens}`. */
export async function handleTokenize(
  request: IncomingMessage,
  response: ServerResponse,
  context: SimPodContext,
): Promise<void> {
  const body = await readBody(request, context, tokenizeRequestSchema);
  checkModel(context, body.model);
  const promptRequest = tokenizePromptSchema.safeParse(body);
  const tokens = promptRequest.success
    ? context.tokenizer.encode(promptRequest.data.prompt, {
        addSpecialTokens: promptRequest.data.add_special_tokens ?? true,
      })
    : renderChatTokens(context, body as z.output<typeof chatFieldsSchema>).tokens;
  sendJson(response, 200, {
    count: tokens.length,
    max_model_len: context.config.maxModelLen,
    tokens,
    token_strs: null,
  });
}

/** vLLM `POST /detokenize`: `{prompt}`. */
export async function handleDetokenize(
  request: IncomingMessage,
  response: ServerResponse,
  context: SimPodContext,
): Promise<void> {
  const body = await readBody(request, context, detokenizeRequestSchema);
  checkModel(context, body.model);
  sendJson(response, 200, { prompt: context.tokenizer.decode(body.tokens) });
}

/** vLLM `POST /v1/completions/render`: a list with one rendered prompt per input prompt. */
export async function handleCompletionRender(
  request: IncomingMessage,
  response: ServerResponse,
  context: SimPodContext,
): Promise<void> {
  const body = await readBody(request, context, completionRenderSchema);
  checkModel(context, body.model);
  const prompts: Array<string | number[]> =
    typeof body.prompt === 'string'
      ? [body.prompt]
      : body.prompt.every((item) => typeof item === 'number')
        ? [body.prompt as number[]]
        : (body.prompt as Array<string | number[]>);
  sendJson(
    response,
    200,
    prompts.map((prompt) => ({
      model: body.model,
      prompt: typeof prompt === 'string' ? prompt : context.tokenizer.decode(prompt),
      token_ids: typeof prompt === 'string' ? context.tokenizer.encode(prompt) : prompt,
    })),
  );
}

/** vLLM `POST /v1/chat/completions/render`: the rendered prompt and its token ids. */
export async function handleChatRender(
  request: IncomingMessage,
  response: ServerResponse,
  context: SimPodContext,
): Promise<void> {
  const body = await readBody(request, context, chatRenderSchema);
  checkModel(context, body.model);
  const rendered = renderChatTokens(context, body);
  sendJson(response, 200, { model: body.model, prompt: rendered.text, token_ids: rendered.tokens });
}

export async function handleLoadLora(
  request: IncomingMessage,
  response: ServerResponse,
  context: SimPodContext,
): Promise<void> {
  const body = await readBody(request, context, loadLoraSchema);
  if (context.loras.has(body.lora_name)) {
    throw new HttpError(
      400,
      `The lora adapter '${body.lora_name}' has already been loaded.`,
      'InvalidUserInput',
      'lora_name',
    );
  }
  context.loras.set(body.lora_name, { path: body.lora_path ?? body.lora_name });
  response.writeHead(200, { 'content-type': 'text/plain' });
  response.end(`Success: LoRA adapter '${body.lora_name}' added successfully.`);
}

export async function handleUnloadLora(
  request: IncomingMessage,
  response: ServerResponse,
  context: SimPodContext,
): Promise<void> {
  const body = await readBody(request, context, unloadLoraSchema);
  if (!context.loras.delete(body.lora_name)) {
    throw new HttpError(
      404,
      `The lora adapter '${body.lora_name}' cannot be found.`,
      'NotFoundError',
      'lora_name',
    );
  }
  response.writeHead(200, { 'content-type': 'text/plain' });
  response.end(`Success: LoRA adapter '${body.lora_name}' removed successfully.`);
}

/** `GET /v1/models`: the base model under each served name, then the adapters with their parent. */
export function handleModels(response: ServerResponse, context: SimPodContext): void {
  const created = Math.floor(Date.now() / 1000);
  const root = context.config.model;
  const data = [
    ...context.servedModelNames.map((id) => ({
      id,
      object: 'model',
      created,
      owned_by: 'vllm',
      root,
      parent: null,
      max_model_len: context.config.maxModelLen,
    })),
    ...[...context.loras.entries()].map(([id, lora]) => ({
      id,
      object: 'model',
      created,
      owned_by: 'vllm',
      root: lora.path,
      parent: context.servedModelNames[0],
      max_model_len: context.config.maxModelLen,
    })),
  ];
  sendJson(response, 200, { object: 'list', data });
}
