import type { Logger } from '@llmd/core';
import type { Dispatcher } from 'undici';
import { z } from 'zod';

/** Model lists are small; anything bigger is not a vLLM `/v1/models` answer. */
const maximumModelListBytes = 1024 * 1024;

const modelListSchema = z.object({
  data: z.array(z.looseObject({ id: z.string().min(1) })),
});

export type ModelListEntry = z.infer<typeof modelListSchema>['data'][number];

export type AggregatedModels =
  | { readonly kind: 'list'; readonly body: { object: 'list'; data: ModelListEntry[] } }
  | { readonly kind: 'no-endpoints' }
  /** Every endpoint failed or answered something that is not a model list. */
  | { readonly kind: 'all-failed' };

export interface AggregateModelsInput {
  readonly dispatcher: Dispatcher;
  /** `ip:port` of each endpoint. */
  readonly endpoints: ReadonlyArray<string>;
  readonly timeoutMilliseconds: number;
  readonly logger: Logger;
}

async function fetchModelList(
  dispatcher: Dispatcher,
  endpoint: string,
  timeoutMilliseconds: number,
): Promise<ModelListEntry[]> {
  const response = await dispatcher.request({
    origin: `http://${endpoint}`,
    path: '/v1/models',
    method: 'GET',
    headers: { accept: 'application/json' },
    headersTimeout: timeoutMilliseconds,
    bodyTimeout: timeoutMilliseconds,
    signal: AbortSignal.timeout(timeoutMilliseconds),
  });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new Error(`status ${response.statusCode}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maximumModelListBytes) {
      response.body.destroy();
      throw new Error(`model list larger than ${maximumModelListBytes} bytes`);
    }
    chunks.push(chunk);
  }
  const parsed = modelListSchema.safeParse(JSON.parse(Buffer.concat(chunks, size).toString('utf8')));
  if (!parsed.success) throw new Error('not an OpenAI model list');
  return parsed.data.data;
}

/**
 * `GET /v1/models` for a pool: ask every endpoint in parallel (short timeout each) and return the
 * union by model id, first answer wins, in endpoint order. Endpoints that fail are left out, so one
 * dead pod does not hide the models the others serve.
 */
export async function aggregateModels(input: AggregateModelsInput): Promise<AggregatedModels> {
  const endpoints = [...new Set(input.endpoints)];
  if (endpoints.length === 0) return { kind: 'no-endpoints' };
  const answers = await Promise.allSettled(
    endpoints.map((endpoint) => fetchModelList(input.dispatcher, endpoint, input.timeoutMilliseconds)),
  );
  const byId = new Map<string, ModelListEntry>();
  let answered = 0;
  answers.forEach((answer, index) => {
    if (answer.status === 'rejected') {
      input.logger.debug(
        {
          endpoint: endpoints[index],
          error: answer.reason instanceof Error ? answer.reason.message : String(answer.reason),
        },
        'endpoint did not list its models',
      );
      return;
    }
    answered++;
    for (const model of answer.value) if (!byId.has(model.id)) byId.set(model.id, model);
  });
  if (answered === 0) return { kind: 'all-failed' };
  return { kind: 'list', body: { object: 'list', data: [...byId.values()] } };
}
