import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  type ChatCompletionRequest,
  type CompletionRequest,
  chatCompletionRequestSchema,
  chatMessageText,
  completionRequestSchema,
  describeFirstIssue,
  type KvTransferParams,
  LlmdError,
} from '@llmd/core';
import type { FailureType } from '../config/sim-config.js';
import type { EngineRequestResult } from '../engine/engine-request.js';
import { SimEngineCapacityError, SimEngineClosedError, SimEngineFullError } from '../engine/sim-engine.js';
import { planGeneration } from './generation-plan.js';
import { HttpError, readJsonBody, sendJson } from './http-utilities.js';
import { notifyPrefillerTransferDone } from './kv-transfer-release.js';
import type { SimPodContext } from './sim-pod-context.js';

export type GenerationKind = 'completion' | 'chat';

const injectedFailures: Record<FailureType, (model: string, maxModelLength: number) => HttpError> = {
  rate_limit: (model) => new HttpError(429, `Rate limit reached for ${model}`),
  invalid_api_key: () => new HttpError(401, 'Incorrect API key provided.'),
  context_length: (_model, maxModelLength) =>
    new HttpError(
      400,
      `This model's maximum context length is ${maxModelLength} tokens. However, your request has more input tokens. Please reduce the length of the input messages.`,
      'BadRequestError',
      'messages',
    ),
  server_error: () => new HttpError(503, 'The server is overloaded or not ready yet.'),
  invalid_request: () => new HttpError(400, 'Invalid request: simulated failure.'),
  model_not_found: (model) => new HttpError(404, `The model \`${model}\` does not exist.`),
};

/** Resolve the request's `model` to the base model or one of the loaded adapters (404 otherwise). */
function resolveModel(context: SimPodContext, model: string): string | null {
  if (context.servedModelNames.includes(model)) return null;
  if (context.loras.has(model)) return model;
  throw new HttpError(404, `The model \`${model}\` does not exist.`, 'NotFoundError', 'model');
}

function injectedFailure(
  context: SimPodContext,
  request: IncomingMessage,
  model: string,
): HttpError | undefined {
  const forced = request.headers['x-return-error'];
  if (typeof forced === 'string' && /^\d{3}$/.test(forced.trim())) {
    const status = Number(forced.trim());
    if (status >= 400 && status <= 599)
      return new HttpError(status, `Simulated error with status ${status} (X-Return-Error)`);
  }
  const { failureInjectionRate, failureTypes, maxModelLen } = context.config;
  if (failureInjectionRate > 0 && context.random.next() * 100 < failureInjectionRate) {
    const kinds = failureTypes.length > 0 ? failureTypes : (Object.keys(injectedFailures) as FailureType[]);
    const kind = kinds[context.random.integer(0, kinds.length - 1)] as FailureType;
    return injectedFailures[kind](model, maxModelLen);
  }
  return undefined;
}

function tokenizeCompletionPrompt(
  context: SimPodContext,
  prompt: CompletionRequest['prompt'],
): { tokens: number[]; text: string } {
  let single: string | number[];
  if (typeof prompt === 'string') single = prompt;
  else if (prompt.length === 1 && (typeof prompt[0] === 'string' || Array.isArray(prompt[0])))
    single = prompt[0] as string | number[];
  else if (prompt.every((item) => typeof item === 'number')) single = prompt as number[];
  else
    throw new HttpError(
      400,
      'Batched prompts are not supported by the simulator: send one prompt per request',
      'BadRequestError',
      'prompt',
    );
  if (typeof single === 'string') return { tokens: context.tokenizer.encode(single), text: single };
  return { tokens: single, text: context.tokenizer.decode(single) };
}

function renderChat(context: SimPodContext, body: ChatCompletionRequest): { tokens: number[]; text: string } {
  try {
    const rendered = context.tokenizer.applyChatTemplate(body.messages, {
      tools: body.tools ?? undefined,
      addGenerationPrompt: body.add_generation_prompt ?? true,
      templateKwargs: body.chat_template_kwargs ?? undefined,
    });
    // The template already holds the special tokens: vLLM tokenizes it without adding more.
    return { tokens: context.tokenizer.encode(rendered, { addSpecialTokens: false }), text: rendered };
  } catch (error) {
    if (LlmdError.isInstance(error)) throw new HttpError(400, error.message, 'BadRequestError', 'messages');
    throw error;
  }
}

/** Validate the prompt against `--max-model-len` with vLLM's wording. */
function checkContextLength(context: SimPodContext, promptTokens: number, maxTokens: number): void {
  const maximum = context.config.maxModelLen;
  if (promptTokens >= maximum) {
    throw new HttpError(
      400,
      `This model's maximum context length is ${maximum} tokens. However, your request has ${promptTokens} input tokens. Please reduce the length of the input messages.`,
      'BadRequestError',
      'messages',
    );
  }
  if (promptTokens + maxTokens > maximum) {
    throw new HttpError(
      400,
      `This model's maximum context length is ${maximum} tokens. However, you requested ${promptTokens + maxTokens} tokens (${promptTokens} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`,
      'BadRequestError',
      'max_tokens',
    );
  }
}

export async function handleGeneration(
  kind: GenerationKind,
  request: IncomingMessage,
  response: ServerResponse,
  context: SimPodContext,
): Promise<void> {
  const arrivedAt = performance.now();
  const raw = await readJsonBody(request, context.config.maxRequestBodySizeMb * 1024 * 1024);
  const parsed = (kind === 'chat' ? chatCompletionRequestSchema : completionRequestSchema).safeParse(raw);
  if (!parsed.success) throw new HttpError(400, describeFirstIssue(parsed.error.issues), 'BadRequestError');
  const body = parsed.data as CompletionRequest | ChatCompletionRequest;
  const loraName = resolveModel(context, body.model);
  const failure = injectedFailure(context, request, body.model);
  if (failure) throw failure;
  if ((body.n ?? 1) !== 1) throw new HttpError(400, 'Only n=1 is supported', 'BadRequestError', 'n');

  const prompt =
    kind === 'chat'
      ? renderChat(context, body as ChatCompletionRequest)
      : tokenizeCompletionPrompt(context, (body as CompletionRequest).prompt);
  const requestedMaxTokens =
    (kind === 'chat' ? (body as ChatCompletionRequest).max_completion_tokens : undefined) ??
    body.max_tokens ??
    undefined;
  if (requestedMaxTokens === 0)
    throw new HttpError(400, 'max_tokens must be at least 1', 'BadRequestError', 'max_tokens');
  // OpenAI's legacy completions default to 16 tokens; chat defaults to the rest of the context.
  const maxTokens =
    requestedMaxTokens ??
    (kind === 'completion' ? 16 : Math.max(1, context.config.maxModelLen - prompt.tokens.length));
  checkContextLength(context, prompt.tokens.length, requestedMaxTokens ?? (kind === 'completion' ? 16 : 1));

  const transfer = (body.kv_transfer_params ?? null) as KvTransferParams | null;
  const role =
    transfer?.do_remote_decode === true ? 'prefill' : transfer?.do_remote_prefill === true ? 'decode' : null;
  const stream = body.stream === true;
  if (role === 'prefill' && stream)
    throw new HttpError(400, 'Prefill does not support streaming', 'BadRequestError', 'stream');

  const stop =
    body.stop === undefined || body.stop === null ? [] : Array.isArray(body.stop) ? body.stop : [body.stop];
  const echoText =
    kind === 'chat'
      ? chatMessageText(
          [...(body as ChatCompletionRequest).messages]
            .reverse()
            .find((message) => message.role === 'user') ?? { content: '' },
        )
      : prompt.text;
  const plan = planGeneration(context.tokenizer, context.random, {
    mode: context.config.mode,
    echoText,
    maxTokens,
    ignoreEos: body.ignore_eos === true,
    stop,
  });

  const headerRequestId = request.headers['x-request-id'];
  const requestId =
    typeof headerRequestId === 'string' && headerRequestId.length > 0 ? headerRequestId : randomUUID();
  const responseId = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`;
  const created = Math.floor(Date.now() / 1000);
  const model = body.model;
  const headers: Record<string, string> = {};
  if (context.config.enableRequestIdHeaders) headers['x-request-id'] = requestId;
  if (context.podName) headers['x-inference-pod'] = context.podName;
  if (context.podNamespace) headers['x-inference-namespace'] = context.podNamespace;
  headers['x-inference-port'] = String(context.port);

  const includeUsage = stream && body.stream_options?.include_usage === true;
  let finished = false;
  let lastTokenAt = 0;
  let sentRole = false;
  let prefillerNotified = false;
  /** P/D decode: the prefiller may free its pinned blocks once they are read (or will never be). */
  const notifyPrefiller = () => {
    if (role !== 'decode' || transfer === null || prefillerNotified) return;
    prefillerNotified = true;
    notifyPrefillerTransferDone(context, transfer);
  };

  const chunkFor = (choice: Record<string, unknown>) =>
    `data: ${JSON.stringify({ id: responseId, object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created, model, choices: [choice] })}\n\n`;

  const usageOf = (result: EngineRequestResult) => ({
    prompt_tokens: result.promptTokens,
    total_tokens: result.promptTokens + result.completionTokens,
    completion_tokens: result.completionTokens,
    prompt_tokens_details: { cached_tokens: result.cachedTokens },
  });

  // A client that left while the body was read or the prompt tokenized would never see the
  // response, and no 'close' event is left to abort it: do not start work for it.
  if (response.destroyed || response.closed) return;

  const done = new Promise<void>((resolve) => {
    let handle: { abort(): void };
    try {
      handle = context.engine.submit(
        {
          requestId,
          promptTokenIds: prompt.tokens,
          outputTokenIds: plan.outputTokenIds,
          finishReason: plan.finishReason,
          loraName,
          cacheSalt: body.cache_salt ?? null,
          disaggregationRole: role,
          kvTransferParams: transfer,
          arrivedAt,
        },
        {
          onScheduled: ({ cachedTokens }) =>
            context.metrics.recordScheduled(prompt.tokens.length, cachedTokens),
          onToken: (index) => {
            // The first token comes after the simulated KV transfer has completed.
            if (index === 0) notifyPrefiller();
            const now = performance.now();
            if (index > 0)
              context.metrics.recordInterTokenLatency(
                ((now - lastTokenAt) * context.config.timeScale) / 1000,
              );
            lastTokenAt = now;
            if (!stream) return;
            if (index === 0)
              response.writeHead(200, {
                'content-type': 'text/event-stream',
                'cache-control': 'no-cache',
                connection: 'keep-alive',
                ...headers,
              });
            if (kind === 'chat' && !sentRole) {
              sentRole = true;
              response.write(
                chunkFor({
                  index: 0,
                  delta: { role: 'assistant', content: '' },
                  logprobs: null,
                  finish_reason: null,
                }),
              );
            }
            const isLast = index === plan.outputTokenIds.length - 1;
            const piece = plan.pieces[index] ?? '';
            const finishReason = isLast ? plan.finishReason : null;
            response.write(
              kind === 'chat'
                ? chunkFor({
                    index: 0,
                    delta: { content: piece },
                    logprobs: null,
                    finish_reason: finishReason,
                  })
                : chunkFor({
                    index: 0,
                    text: piece,
                    logprobs: null,
                    finish_reason: finishReason,
                    stop_reason: null,
                  }),
            );
          },
          onFinish: (result) => {
            finished = true;
            const finishReason = result.finishReason === 'remote_decode' ? 'length' : result.finishReason;
            context.metrics.recordFinished(result, maxTokens, finishReason);
            if (result.finishReason === 'abort') {
              // vLLM's decoder also notifies on abort: the blocks will not be read any more.
              notifyPrefiller();
              if (!response.writableEnded) response.destroy();
              resolve();
              return;
            }
            if (stream) {
              if (includeUsage) {
                response.write(
                  `data: ${JSON.stringify({ id: responseId, object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created, model, choices: [], usage: usageOf(result) })}\n\n`,
                );
              }
              response.end('data: [DONE]\n\n');
              resolve();
              return;
            }
            const text = plan.pieces.slice(0, result.completionTokens).join('');
            const choice =
              kind === 'chat'
                ? {
                    index: 0,
                    message: { role: 'assistant', content: text, tool_calls: [] },
                    logprobs: null,
                    finish_reason: finishReason,
                    stop_reason: null,
                  }
                : { index: 0, text, logprobs: null, finish_reason: finishReason, stop_reason: null };
            const responseBody: Record<string, unknown> = {
              id: responseId,
              object: kind === 'chat' ? 'chat.completion' : 'text_completion',
              created,
              model,
              choices: [choice],
              usage: usageOf(result),
            };
            if (role === 'prefill') {
              responseBody.kv_transfer_params = {
                do_remote_prefill: true,
                do_remote_decode: false,
                remote_block_ids: result.remoteBlockIds ?? [],
                remote_engine_id: context.engineId,
                // The engine's id for the pin, not the client's (which may repeat).
                remote_request_id: result.remoteRequestId,
                remote_host: context.host,
                remote_port: context.port,
                tp_size: 1,
              } satisfies KvTransferParams;
            }
            sendJson(response, 200, responseBody, headers);
            resolve();
          },
        },
      );
    } catch (error) {
      if (error instanceof SimEngineFullError) {
        throw new HttpError(429, `The waiting queue is full (${error.queueLength} requests); retry later`);
      }
      if (error instanceof SimEngineCapacityError)
        throw new HttpError(400, error.message, 'BadRequestError', 'prompt');
      if (error instanceof SimEngineClosedError)
        throw new HttpError(503, 'The server is shutting down; retry on another replica.');
      throw error;
    }
    // A client that goes away mid-request frees its slot and blocks at once.
    response.on('close', () => {
      if (!finished) handle.abort();
    });
  });
  await done;
}
