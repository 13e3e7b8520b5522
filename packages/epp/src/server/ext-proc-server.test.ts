import * as grpc from '@grpc/grpc-js';
import type { EndpointKey } from '@llmd/core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type {
  IncomingRequest,
  RequestOutcome,
  RequestPipeline,
  ResponseExchange,
} from '../pipeline/request-outcome.js';
import type { RequestTerminationCause } from '../plugin/plugin-interfaces.js';
import { type ExtProcProtos, loadExtProcProtos } from './ext-proc-protos.js';
import {
  type ExtProcServer,
  type ExtProcServerOptions,
  startExtProcServer,
} from './start-ext-proc-server.js';
import { createExtProcTestClient, type ExtProcTestClient } from './testing/ext-proc-test-client.js';

/*
 * The pipelines below are small implementations of our own RequestPipeline interface (the real one
 * schedules over live endpoints); the gRPC server, the client and the wire protocol are real.
 */

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** Records what the server reports about the response phase; restores the model name like the real exchange. */
class RecordingExchange implements ResponseExchange {
  readonly completions: RequestTerminationCause[] = [];
  readonly chunks: Array<{ text: string; endOfStream: boolean }> = [];
  headersInput: Parameters<ResponseExchange['responseHeaders']>[0] | undefined;

  constructor(
    private readonly targetModel: string,
    private readonly clientModel: string,
  ) {}

  responseHeaders(input: Parameters<ResponseExchange['responseHeaders']>[0]): Record<string, string> {
    this.headersInput = input;
    return { 'x-session-token': 'c2Vzc2lvbg==' };
  }

  responseChunk(chunk: Uint8Array, endOfStream: boolean): Uint8Array {
    const text = textDecoder.decode(chunk);
    this.chunks.push({ text, endOfStream });
    return textEncoder.encode(
      text.replaceAll(`"model":"${this.targetModel}"`, `"model":"${this.clientModel}"`),
    );
  }

  complete(cause: RequestTerminationCause): void {
    this.completions.push(cause);
  }
}

/**
 * Routes to a fixed endpoint list, honouring the subset hint the way the real pipeline must
 * (IP match, port ignored; an empty or non-matching hint → 503 rejected-no-endpoints), and
 * rewrites `"model":"<clientModel>"` to the target model when `targetModel` is set.
 */
class FixedRoutePipeline implements RequestPipeline {
  readonly requests: IncomingRequest[] = [];
  readonly exchanges: RecordingExchange[] = [];

  constructor(
    private readonly endpoints: ReadonlyArray<EndpointKey>,
    private readonly models: { clientModel: string; targetModel?: string } = { clientModel: 'client-model' },
  ) {}

  async handle(request: IncomingRequest): Promise<RequestOutcome> {
    this.requests.push(request);
    const requestId = request.headers['x-request-id'] ?? 'generated-id';
    let candidates = this.endpoints;
    if (request.subsetHint !== undefined) {
      const allowedIps = new Set(request.subsetHint.map((key) => key.slice(0, key.lastIndexOf(':'))));
      candidates = candidates.filter((key) => allowedIps.has(key.slice(0, key.lastIndexOf(':'))));
    }
    if (candidates.length === 0) {
      return {
        kind: 'reject',
        requestId,
        status: 503,
        dropReason: 'rejected-no-endpoints',
        message: 'no endpoint in the subset hint',
      };
    }
    const targetModel = this.models.targetModel;
    let body = request.body;
    if (body !== undefined && targetModel !== undefined) {
      const rewritten = textDecoder
        .decode(body)
        .replace(`"model":"${this.models.clientModel}"`, `"model":"${targetModel}"`);
      body = textEncoder.encode(rewritten);
    }
    const exchange = new RecordingExchange(targetModel ?? this.models.clientModel, this.models.clientModel);
    this.exchanges.push(exchange);
    return {
      kind: 'route',
      requestId,
      targets: candidates,
      // Like llm-d: every client header goes back, plus the plugin headers.
      headersToSet: {
        ...request.headers,
        'x-prefiller-host-port': '10.0.0.9:8000',
        'x-request-id': requestId,
      },
      headersToRemove: ['x-gateway-destination-endpoint-subset'],
      body,
      endpointScores: Object.fromEntries(candidates.map((key, index) => [key, 1 - index / 10])),
      exchange,
    };
  }
}

const endpoints: EndpointKey[] = ['10.0.0.1:8000', '10.0.0.2:8000'] as EndpointKey[];

describe('ext_proc server', () => {
  let protos: ExtProcProtos;
  const cleanups: Array<() => Promise<void> | void> = [];

  beforeAll(() => {
    protos = loadExtProcProtos();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(
    pipeline: RequestPipeline,
    options: Partial<ExtProcServerOptions> = {},
  ): Promise<{ server: ExtProcServer; client: ExtProcTestClient }> {
    const server = await startExtProcServer({
      pipeline,
      port: 0,
      healthPort: false,
      host: '127.0.0.1',
      secureServing: false,
      shutdownTimeoutMilliseconds: 1_000,
      ...options,
    });
    cleanups.push(() => server.close());
    const testClient = createExtProcTestClient({ address: `127.0.0.1:${server.port}`, protos });
    cleanups.push(() => testClient.close());
    // Streams a test leaves open are reset before the server closes, so close() need not wait for them.
    const client: ExtProcTestClient = {
      ...testClient,
      openStream: () => {
        const stream = testClient.openStream();
        cleanups.push(() => stream.cancel());
        return stream;
      },
    };
    return { server, client };
  }

  it('routes a request: destination header equals the envoy.lb metadata, body re-sent with its Content-Length', async () => {
    const pipeline = new FixedRoutePipeline(endpoints, {
      clientModel: 'client-model',
      targetModel: 'target-model',
    });
    const { client } = await start(pipeline);
    const stream = client.openStream();
    const body = JSON.stringify({ model: 'client-model', messages: [{ role: 'user', content: 'hello' }] });

    const result = await stream.sendRequest({
      path: '/v1/chat/completions',
      headers: { 'X-Request-Id': 'request-1', 'Content-Type': 'application/json', 'Content-Length': '1' },
      body,
    });

    expect(result.kind).toBe('routed');
    if (result.kind !== 'routed') return;
    expect(result.destination).toBe('10.0.0.1:8000,10.0.0.2:8000');
    expect(result.dynamicMetadata).toEqual({
      'envoy.lb': { 'x-gateway-destination-endpoint': '10.0.0.1:8000,10.0.0.2:8000' },
    });
    expect(result.clearRouteCache).toBe(true);
    const expectedBody = body.replace('"model":"client-model"', '"model":"target-model"');
    expect(result.body.toString()).toBe(expectedBody);
    expect(result.setHeaders['content-length']).toBe(String(Buffer.byteLength(expectedBody)));
    expect(result.setHeaders['content-type']).toBe('application/json');
    const setHeaderKeys = result.responses[0]?.request_headers?.response?.header_mutation?.set_headers?.map(
      (option) => option.header.key.toLowerCase(),
    );
    expect(setHeaderKeys?.filter((key) => key === 'content-length')).toHaveLength(1);
    expect(result.setHeaders['x-prefiller-host-port']).toBe('10.0.0.9:8000');
    expect(result.setHeaders['x-request-id']).toBe('request-1');
    expect(result.removeHeaders).toEqual(['x-gateway-destination-endpoint-subset']);
    // Header values are written as raw_value bytes, as current Envoys expect.
    const firstHeader =
      result.responses[0]?.request_headers?.response?.header_mutation?.set_headers?.[0]?.header;
    expect(firstHeader?.key).toBe('x-gateway-destination-endpoint');
    expect(Buffer.from(firstHeader?.raw_value ?? []).toString()).toBe('10.0.0.1:8000,10.0.0.2:8000');
    expect(firstHeader?.value).toBe('');

    const seen = pipeline.requests[0];
    expect(seen?.method).toBe('POST');
    expect(seen?.path).toBe('/v1/chat/completions');
    expect(seen?.headers['x-request-id']).toBe('request-1');
    expect(seen?.headers['content-type']).toBe('application/json');
    expect(seen?.headers[':path']).toBeUndefined();
    expect(textDecoder.decode(seen?.body)).toBe(body);
    expect(seen?.subsetHint).toBeUndefined();
    stream.end();
    expect((await stream.status).code).toBe(grpc.status.OK);
  });

  it('re-sends a ~200 KB body intact in streamed chunks of at most 62,000 bytes', async () => {
    const pipeline = new FixedRoutePipeline(endpoints);
    const { client } = await start(pipeline);
    const prompt = 'The quick brown fox jumps over the lazy dog. '.repeat(4_500);
    const body = JSON.stringify({ model: 'client-model', prompt });
    expect(body.length).toBeGreaterThan(200_000);

    const stream = client.openStream();
    const result = await stream.sendRequest({ path: '/v1/completions', body, chunkBytes: 16_384 });

    if (result.kind !== 'routed') throw new Error(`expected a route, got ${result.kind}`);
    expect(result.body.equals(Buffer.from(body))).toBe(true);
    expect(result.setHeaders['content-length']).toBe(String(body.length));
    expect(result.bodyChunkSizes.length).toBe(Math.ceil(body.length / 62_000));
    expect(Math.max(...result.bodyChunkSizes)).toBeLessThanOrEqual(62_000);
    const endOfStreamFlags = result.responses
      .slice(1)
      .map((message) => message.request_body?.response?.body_mutation?.streamed_response?.end_of_stream);
    expect(endOfStreamFlags).toEqual([...Array(endOfStreamFlags.length - 1).fill(false), true]);
    expect(pipeline.requests[0]?.body?.length).toBe(body.length);
    stream.end();
  });

  it('answers a body-less request on its headers, without Content-Length or body messages', async () => {
    const pipeline = new FixedRoutePipeline(['10.0.0.3:8000'] as EndpointKey[]);
    const { client } = await start(pipeline);
    const stream = client.openStream();

    const result = await stream.sendRequest({ method: 'GET', path: '/v1/models' });

    if (result.kind !== 'routed') throw new Error(`expected a route, got ${result.kind}`);
    expect(result.destination).toBe('10.0.0.3:8000');
    expect(result.setHeaders['content-length']).toBeUndefined();
    expect(result.responses).toHaveLength(1);
    expect(pipeline.requests[0]?.body).toBeUndefined();
    expect(pipeline.requests[0]?.method).toBe('GET');

    const response = await stream.sendResponse({ status: 200, chunks: ['{"data":[]}'] });
    expect(response.body.toString()).toBe('{"data":[]}');
    expect(pipeline.exchanges[0]?.completions).toEqual(['completed']);
    stream.end();
  });

  it('sends one empty end_of_stream body message for an empty request body', async () => {
    const pipeline = new FixedRoutePipeline(endpoints);
    const { client } = await start(pipeline);

    const result = await client.openStream().sendRequest({ body: '' });

    if (result.kind !== 'routed') throw new Error(`expected a route, got ${result.kind}`);
    expect(result.setHeaders['content-length']).toBe('0');
    expect(result.bodyChunkSizes).toEqual([0]);
    expect(result.responses[1]?.request_body?.response?.body_mutation?.streamed_response?.end_of_stream).toBe(
      true,
    );
    expect(pipeline.requests[0]?.body?.length).toBe(0);
  });

  it('passes the subset hint on and answers an empty hint with 503 and the drop reason', async () => {
    const pipeline = new FixedRoutePipeline(endpoints);
    const { client } = await start(pipeline);

    const narrowed = await client
      .openStream()
      .sendRequest({ body: '{"model":"m"}', subsetHint: ['10.0.0.2:9999'] });
    if (narrowed.kind !== 'routed') throw new Error('expected a route');
    expect(narrowed.destination).toBe('10.0.0.2:8000');
    expect(pipeline.requests[0]?.subsetHint).toEqual(['10.0.0.2:9999']);

    const stream = client.openStream();
    const rejected = await stream.sendRequest({ body: '{"model":"m"}', subsetHint: [] });
    expect(pipeline.requests[1]?.subsetHint).toEqual([]);
    expect(rejected).toMatchObject({
      kind: 'immediate',
      status: 503,
      headers: { 'x-llm-d-request-dropped-reason': 'rejected-no-endpoints' },
      body: 'inference error: ServiceUnavailable - no endpoint in the subset hint',
    });
    // The EPP closes the stream after an immediate response.
    expect(await stream.next()).toBeUndefined();
    expect((await stream.status).code).toBe(grpc.status.OK);
  });

  it('turns a rejection into an immediate response with status, drop reason and llm-d body', async () => {
    const pipeline: RequestPipeline = {
      handle: async () => ({
        kind: 'reject',
        requestId: 'r',
        status: 429,
        dropReason: 'rejected-saturated',
        message: 'every endpoint was filtered out',
      }),
    };
    const { client } = await start(pipeline);
    const stream = client.openStream();

    const result = await stream.sendRequest({ body: '{"model":"m"}' });

    expect(result).toMatchObject({
      kind: 'immediate',
      status: 429,
      headers: { 'x-llm-d-request-dropped-reason': 'rejected-saturated' },
      body: 'inference error: ResourceExhausted - every endpoint was filtered out',
    });
    expect(result.responses[0]?.immediate_response?.status?.code).toBe('TooManyRequests');
  });

  it('passes response headers and body through the exchange, restoring the model name', async () => {
    const pipeline = new FixedRoutePipeline(endpoints, {
      clientModel: 'client-model',
      targetModel: 'target-model',
    });
    const { client } = await start(pipeline);
    const stream = client.openStream();
    await stream.sendRequest({ body: '{"model":"client-model","stream":true}' });

    const response = await stream.sendResponse({
      status: 200,
      headers: { 'Content-Type': 'text/event-stream' },
      servedEndpoint: '10.0.0.2:8000',
      chunks: [
        'data: {"model":"target-model","choices":[{"text":"Hel"}]}\n\n',
        'data: {"model":"target-model","choices":[{"text":"lo"}]}\n\n',
        'data: [DONE]\n\n',
      ],
    });

    expect(response.setHeaders).toEqual({
      'x-session-token': 'c2Vzc2lvbg==',
      'x-went-into-resp-headers': 'true',
    });
    expect(response.body.toString()).toBe(
      'data: {"model":"client-model","choices":[{"text":"Hel"}]}\n\n' +
        'data: {"model":"client-model","choices":[{"text":"lo"}]}\n\n' +
        'data: [DONE]\n\n',
    );
    const exchange = pipeline.exchanges[0] as RecordingExchange;
    expect(exchange.headersInput).toEqual({
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
      servedEndpoint: '10.0.0.2:8000',
    });
    expect(exchange.chunks.map((chunk) => chunk.endOfStream)).toEqual([false, false, true]);
    expect(exchange.completions).toEqual(['completed']);

    stream.end();
    expect((await stream.status).code).toBe(grpc.status.OK);
    expect(exchange.completions).toEqual(['completed']);
  });

  it('answers response trailers with an empty TrailersResponse and completes once', async () => {
    const pipeline = new FixedRoutePipeline(endpoints);
    const { client } = await start(pipeline);
    const stream = client.openStream();
    await stream.sendRequest({ body: '{"model":"client-model"}' });

    const response = await stream.sendResponse({ chunks: ['{"ok":true}'], trailers: { 'grpc-status': '0' } });

    expect(response.body.toString()).toBe('{"ok":true}');
    expect(response.responses.at(-1)?.response).toBe('response_trailers');
    stream.end();
    await stream.status;
    expect(pipeline.exchanges[0]?.completions).toEqual(['completed']);
  });

  it('calls complete once with client-disconnected when the proxy cancels mid-response', async () => {
    const pipeline = new FixedRoutePipeline(endpoints);
    const { server, client } = await start(pipeline);
    const stream = client.openStream();
    await stream.sendRequest({ body: '{"model":"client-model"}' });
    stream.sendResponseHeaders({ status: 200 }, false);
    await stream.expectNext();
    stream.sendResponseBody('partial', false);
    await stream.expectNext();
    expect(server.activeStreams()).toBe(1);

    stream.cancel();

    const exchange = pipeline.exchanges[0] as RecordingExchange;
    await vi.waitFor(() => expect(exchange.completions).toEqual(['client-disconnected']));
    await vi.waitFor(() => expect(server.activeStreams()).toBe(0));
    expect(pipeline.requests[0]?.signal.aborted).toBe(true);
    expect(exchange.completions).toEqual(['client-disconnected']);
  });

  it('aborts the request signal and completes the late route when the proxy cancels during scheduling', async () => {
    const exchange = new RecordingExchange('m', 'm');
    let seen: IncomingRequest | undefined;
    const pipeline: RequestPipeline = {
      handle: async (request) => {
        seen = request;
        await new Promise<void>((resolve) => request.signal.addEventListener('abort', () => resolve()));
        return {
          kind: 'route',
          requestId: 'r',
          targets: endpoints,
          headersToSet: {},
          headersToRemove: [],
          body: request.body,
          endpointScores: {},
          exchange,
        };
      },
    };
    const { server, client } = await start(pipeline);
    const stream = client.openStream();
    stream.sendRequestHeaders({}, false);
    stream.sendRequestBody('{"model":"m"}');
    await vi.waitFor(() => expect(seen).toBeDefined());

    stream.cancel();

    await vi.waitFor(() => expect(exchange.completions).toEqual(['client-disconnected']));
    expect(seen?.signal.aborted).toBe(true);
    await vi.waitFor(() => expect(server.activeStreams()).toBe(0));
  });

  it('answers 413 when the body exceeds maxBodyBytes, without calling the pipeline', async () => {
    const pipeline = new FixedRoutePipeline(endpoints);
    const { client } = await start(pipeline, { maxBodyBytes: 4_096 });
    const stream = client.openStream();

    const result = await stream.sendRequest({ body: 'x'.repeat(10_000), chunkBytes: 1_000 });

    expect(result).toMatchObject({
      kind: 'immediate',
      status: 413,
      body: 'inference error: PayloadTooLarge - request body exceeds 4096 bytes',
    });
    expect(result.kind === 'immediate' && result.headers['x-llm-d-request-dropped-reason']).toBeUndefined();
    expect(pipeline.requests).toHaveLength(0);
    expect((await stream.status).code).toBe(grpc.status.OK);
  });

  it('bounds the request bytes all streams buffer together: 429 over the budget, accepted again once released', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const fixed = new FixedRoutePipeline(endpoints);
    let first = true;
    const pipeline: RequestPipeline = {
      handle: async (request) => {
        if (first) {
          first = false;
          await held;
        }
        return fixed.handle(request);
      },
    };
    const { client } = await start(pipeline, { maxBufferedBodyBytes: 8_000 });
    const blocked = client.openStream().sendRequest({ body: 'a'.repeat(6_000) });
    await vi.waitFor(() => expect(fixed.requests).toHaveLength(0));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const refused = await client.openStream().sendRequest({ body: 'b'.repeat(6_000) });
    expect(refused).toMatchObject({ kind: 'immediate', status: 429 });
    expect(refused.kind === 'immediate' && refused.headers['x-llm-d-request-dropped-reason']).toBe(
      'rejected-saturated',
    );
    release();
    expect((await blocked).kind).toBe('routed');
    expect((await client.openStream().sendRequest({ body: 'c'.repeat(6_000) })).kind).toBe('routed');
  });

  it('answers 500 when the pipeline throws, and keeps serving', async () => {
    let calls = 0;
    const working = new FixedRoutePipeline(endpoints);
    const pipeline: RequestPipeline = {
      handle: async (request) => {
        calls += 1;
        if (calls === 1) throw new Error('scheduler exploded');
        return working.handle(request);
      },
    };
    const { client } = await start(pipeline);

    const failed = await client.openStream().sendRequest({ body: '{"model":"m"}' });
    expect(failed).toMatchObject({ kind: 'immediate', status: 500 });
    expect(failed.kind === 'immediate' && failed.body.startsWith('inference error: Internal - ')).toBe(true);

    const next = await client.openStream().sendRequest({ body: '{"model":"m"}' });
    expect(next.kind).toBe('routed');
  });

  it('emits per-endpoint scores in the envoy.lb metadata when asked to', async () => {
    const { client } = await start(new FixedRoutePipeline(endpoints), { emitEndpointScores: true });

    const result = await client.openStream().sendRequest({ body: '{"model":"m"}' });

    if (result.kind !== 'routed') throw new Error('expected a route');
    expect(result.dynamicMetadata).toEqual({
      'envoy.lb': {
        'x-gateway-destination-endpoint': '10.0.0.1:8000,10.0.0.2:8000',
        'x-gateway-destination-endpoint-scores': { '10.0.0.1:8000': 1, '10.0.0.2:8000': 0.9 },
      },
    });
  });

  it('accepts header values in the legacy `value` field and request trailers ending the body', async () => {
    const pipeline = new FixedRoutePipeline(endpoints);
    const { client } = await start(pipeline);
    const stream = client.openStream();
    stream.send({
      request_headers: {
        headers: {
          headers: [
            { key: ':method', value: 'POST' },
            { key: ':path', value: '/v1/completions' },
            { key: 'X-Legacy', value: 'yes' },
          ],
        },
        end_of_stream: false,
      },
    });
    stream.sendRequestBody('{"model":"m"}', { endOfStream: false });
    stream.sendRequestTrailers({ 'x-trailer': '1' });

    const headersReply = await stream.expectNext();
    expect(headersReply.response).toBe('request_headers');
    const bodyReply = await stream.expectNext();
    expect(bodyReply.request_body?.response?.body_mutation?.streamed_response?.end_of_stream).toBe(false);
    expect(
      Buffer.from(bodyReply.request_body?.response?.body_mutation?.streamed_response?.body ?? []).toString(),
    ).toBe('{"model":"m"}');
    expect((await stream.expectNext()).response).toBe('request_trailers');
    expect(pipeline.requests[0]?.headers['x-legacy']).toBe('yes');
    expect(pipeline.requests[0]?.path).toBe('/v1/completions');
  });

  it('fails a stream that breaks the message order with INVALID_ARGUMENT', async () => {
    const { client } = await start(new FixedRoutePipeline(endpoints));
    const stream = client.openStream();

    stream.sendResponseBody('out of order', true);

    expect((await stream.status).code).toBe(grpc.status.INVALID_ARGUMENT);
    const next = await client.openStream().sendRequest({ body: '{"model":"m"}' });
    expect(next.kind).toBe('routed');
  });

  it('completes open exchanges when close() cancels streams after the shutdown timeout', async () => {
    const pipeline = new FixedRoutePipeline(endpoints);
    const { server, client } = await start(pipeline, { shutdownTimeoutMilliseconds: 200 });
    const stream = client.openStream();
    await stream.sendRequest({ body: '{"model":"m"}' });

    await server.close();

    await vi.waitFor(() => expect(pipeline.exchanges[0]?.completions).toEqual(['client-disconnected']));
    expect(server.activeStreams()).toBe(0);
  });
});
