import { describe, expect, it } from 'vitest';
import { definePlugin } from '../plugin/define-plugin.js';
import type { EndpointState } from '../plugin/endpoint-state.js';
import { createTestEndpointState, createTestScheduler } from '../testing/index.js';
import { EndpointPickerPipeline } from './endpoint-picker-pipeline.js';
import type { IncomingRequest, RequestOutcome } from './request-outcome.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Records the upstream header a pre-request hook sees and sets one of its own. */
const headerSettingHook = definePlugin({
  type: 'header-setting-hook',
  create: () => ({
    score: (_request, endpoints) => new Map(endpoints.map((endpoint) => [endpoint, 1])),
    preRequest: (request) => {
      request.upstreamHeaders.set('x-prefiller-host-port', '10.9.9.9:8000');
    },
  }),
});

async function pipelineFor(
  endpoints: ReadonlyArray<EndpointState>,
  objectives?: ReadonlyMap<string, number>,
) {
  const scheduler = await createTestScheduler({
    plugins: [headerSettingHook],
    config: 'plugins: [{ type: header-setting-hook }]',
  });
  return new EndpointPickerPipeline({
    scheduler,
    endpoints: () => endpoints,
    ...(objectives ? { objectives } : {}),
  });
}

function request(init: Partial<IncomingRequest> & { json?: unknown }): IncomingRequest {
  return {
    method: 'POST',
    path: '/v1/chat/completions',
    headers: {},
    body: init.json === undefined ? undefined : encoder.encode(JSON.stringify(init.json)),
    signal: new AbortController().signal,
    ...init,
  };
}

const chat = { model: 'm', messages: [{ role: 'user', content: 'hello' }] };
const pool = [
  createTestEndpointState({ key: '10.0.0.1:8000' }),
  createTestEndpointState({ key: '10.0.0.2:8000' }),
];

function expectRoute(outcome: RequestOutcome) {
  if (outcome.kind !== 'route') throw new Error(`expected a route, got ${outcome.status} ${outcome.message}`);
  return outcome;
}

describe('EndpointPickerPipeline', () => {
  it('routes a chat request, strips client routing headers and applies plugin headers', async () => {
    const pipeline = await pipelineFor(pool);
    const outcome = expectRoute(
      await pipeline.handle(
        request({
          json: chat,
          headers: {
            'x-gateway-destination-endpoint': '6.6.6.6:1',
            'x-prefiller-host-port': '6.6.6.6:2',
            'x-request-id': 'r1',
          },
        }),
      ),
    );
    expect(outcome.requestId).toBe('r1');
    expect(pool.map((state) => state.endpoint.key)).toContain(outcome.targets[0]);
    expect(outcome.headersToRemove).toEqual(['x-gateway-destination-endpoint', 'x-prefiller-host-port']);
    expect(outcome.headersToSet).toEqual({ 'x-prefiller-host-port': '10.9.9.9:8000' });
  });

  it('answers 400 with the field path for a malformed body', async () => {
    const pipeline = await pipelineFor(pool);
    expect(await pipeline.handle(request({ body: encoder.encode('{oops') }))).toMatchObject({
      kind: 'reject',
      status: 400,
    });
    expect(
      await pipeline.handle(request({ json: { model: 'm', messages: [{ content: 'x' }] } })),
    ).toMatchObject({
      status: 400,
      message: expect.stringMatching(/^messages\[0\]\.role/),
    });
    expect(await pipeline.handle(request({ json: { messages: chat.messages } }))).toMatchObject({
      status: 400,
      message: expect.stringMatching(/^model/),
    });
  });

  it('honours the subset hint by IP and answers 503 when it matches nothing', async () => {
    const pipeline = await pipelineFor(pool);
    const routed = expectRoute(await pipeline.handle(request({ json: chat, subsetHint: ['10.0.0.2:9999'] })));
    expect(routed.targets).toEqual(['10.0.0.2:8000']);
    expect(await pipeline.handle(request({ json: chat, subsetHint: [] }))).toMatchObject({
      status: 503,
      dropReason: 'rejected-no-endpoints',
    });
  });

  it('sends body-less requests to a random endpoint without scheduling', async () => {
    const pipeline = await pipelineFor(pool);
    const outcome = expectRoute(await pipeline.handle(request({ method: 'GET', path: '/v1/models' })));
    expect(outcome.targets).toHaveLength(1);
    expect(outcome.headersToSet).toEqual({});
  });

  it('rewrites the model for the server and restores it in the response', async () => {
    const pipeline = await pipelineFor(pool);
    const outcome = expectRoute(
      await pipeline.handle(
        request({ json: chat, headers: { 'x-gateway-model-name-rewrite': 'real-model' } }),
      ),
    );
    expect(JSON.parse(decoder.decode(outcome.body)).model).toBe('real-model');
    outcome.exchange.responseHeaders({
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
      servedEndpoint: undefined,
    });
    const chunk = outcome.exchange.responseChunk(
      encoder.encode('data: {"id":"x","model":"real-model"}\n\n'),
      false,
    );
    expect(decoder.decode(chunk)).toBe('data: {"id":"x","model":"m"}\n\n');
    outcome.exchange.complete('completed');
  });

  it('sheds sheddable requests (negative priority) only while the pool is saturated', async () => {
    const saturated = [createTestEndpointState({ key: '10.0.0.1:8000', metrics: { waitingQueueSize: 50 } })];
    const objectives = new Map([['batch', -1]]);
    const pipeline = await pipelineFor(saturated, objectives);
    expect(
      await pipeline.handle(request({ json: chat, headers: { 'x-llm-d-inference-objective': 'batch' } })),
    ).toMatchObject({
      status: 429,
      dropReason: 'rejected-saturated',
    });
    expectRoute(await pipeline.handle(request({ json: chat })));
    const idle = await pipelineFor(pool, objectives);
    expectRoute(
      await idle.handle(request({ json: chat, headers: { 'x-llm-d-inference-objective': 'batch' } })),
    );
  });

  it('answers 503 rejected-no-endpoints when the pool is empty', async () => {
    const pipeline = await pipelineFor([]);
    expect(await pipeline.handle(request({ json: chat }))).toMatchObject({
      status: 503,
      dropReason: 'rejected-no-endpoints',
    });
  });
});
