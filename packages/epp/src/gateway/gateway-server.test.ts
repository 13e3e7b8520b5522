import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type EndpointKey, headerNames, routingHeaderNames } from '@llmd/core';
import { type SimCluster, type SimServer, startSimCluster, startSimServer } from '@llmd/sim';
import OpenAI from 'openai';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type {
  DropReason,
  IncomingRequest,
  RequestOutcome,
  RequestPipeline,
  ResponseExchange,
} from '../pipeline/request-outcome.js';
import type { RequestTerminationCause } from '../plugin/plugin-interfaces.js';
import { type Gateway, startGateway } from './gateway-server.js';

// The machine running the suite may be busy: give real-server tests room; none waits on wall time.
vi.setConfig({ testTimeout: 20_000 });

// ---------------------------------------------------------------------------------------------
// Small pipelines implementing our own RequestPipeline contract (not mocks: the gateway is the
// component under test, and these are complete, if trivial, implementations of its input).
// ---------------------------------------------------------------------------------------------

interface RecordedExchange {
  readonly responseHeaders: Array<{ status: number; servedEndpoint: string | undefined }>;
  readonly completions: RequestTerminationCause[];
  /** Order of the response calls: `headers`, then one `chunk`/`last-chunk` per body call. */
  readonly calls: Array<'headers' | 'chunk' | 'last-chunk'>;
}

interface RoutingPipelineOptions {
  /** Targets for each request, primary first. */
  readonly targets: () => ReadonlyArray<string>;
  /** Rewrite the client's model name to the server's, and restore it in responses. */
  readonly modelRewrite?: { readonly clientName: string; readonly serverName: string };
  readonly headersToSet?: Readonly<Record<string, string>>;
  /** Headers returned for the client response. */
  readonly responseHeadersToAdd?: Readonly<Record<string, string>>;
}

/**
 * Restores `"model":"<server>"` to the client's name. Lines are processed whole (the tail after the
 * last newline waits for the next chunk) so a name split across chunks is still found.
 */
function createModelRestorer(serverName: string, clientName: string) {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const from = `"model":${JSON.stringify(serverName)}`;
  const to = `"model":${JSON.stringify(clientName)}`;
  let pending = '';
  return (chunk: Uint8Array, endOfStream: boolean): Uint8Array => {
    pending += decoder.decode(chunk, { stream: !endOfStream });
    const cut = endOfStream ? pending.length : pending.lastIndexOf('\n') + 1;
    const ready = pending.slice(0, cut);
    pending = pending.slice(cut);
    return encoder.encode(ready.replaceAll(from, to));
  };
}

/** Routes every request to `targets()` in order; rejects bodies that are not JSON objects with 400. */
function createRoutingPipeline(options: RoutingPipelineOptions) {
  const exchanges: RecordedExchange[] = [];
  const requests: IncomingRequest[] = [];
  let sequence = 0;
  const pipeline: RequestPipeline = {
    async handle(request): Promise<RequestOutcome> {
      requests.push(request);
      const requestId = request.headers[headerNames.requestId] ?? `test-${++sequence}`;
      let body = request.body;
      if (body !== undefined) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(new TextDecoder().decode(body));
        } catch {
          parsed = undefined;
        }
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          return {
            kind: 'reject',
            requestId,
            status: 400,
            dropReason: undefined,
            message: 'body is not a JSON object',
          };
        }
        const object = parsed as Record<string, unknown>;
        if (options.modelRewrite && object.model === options.modelRewrite.clientName) {
          object.model = options.modelRewrite.serverName;
          body = new TextEncoder().encode(JSON.stringify(object));
        }
      }
      const recorded: RecordedExchange = { responseHeaders: [], completions: [], calls: [] };
      exchanges.push(recorded);
      const restore = options.modelRewrite
        ? createModelRestorer(options.modelRewrite.serverName, options.modelRewrite.clientName)
        : undefined;
      const exchange: ResponseExchange = {
        responseHeaders: ({ status, servedEndpoint }) => {
          recorded.responseHeaders.push({ status, servedEndpoint });
          recorded.calls.push('headers');
          return { ...options.responseHeadersToAdd };
        },
        responseChunk: (chunk, endOfStream) => {
          recorded.calls.push(endOfStream ? 'last-chunk' : 'chunk');
          return restore ? restore(chunk, endOfStream) : chunk;
        },
        complete: (cause) => {
          recorded.completions.push(cause);
        },
      };
      return {
        kind: 'route',
        requestId,
        targets: options.targets() as ReadonlyArray<EndpointKey>,
        headersToSet: options.headersToSet ?? {},
        headersToRemove: routingHeaderNames,
        body,
        endpointScores: {},
        exchange,
      };
    },
  };
  return { pipeline, exchanges, requests };
}

/** Rejects everything, as a scheduler does when the pool is empty or saturated. */
function createRejectingPipeline(status: number, dropReason: DropReason | undefined, message: string) {
  let calls = 0;
  const pipeline: RequestPipeline = {
    async handle() {
      calls++;
      return { kind: 'reject', requestId: `reject-${calls}`, status, dropReason, message };
    },
  };
  return { pipeline, calls: () => calls };
}

// ---------------------------------------------------------------------------------------------
// Real servers: simulated vLLM pods and a plain node:http upstream that records what it receives.
// ---------------------------------------------------------------------------------------------

interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

interface UpstreamServer {
  readonly endpoint: string;
  readonly received: ReceivedRequest[];
  /** Responses closed by the peer before they finished. */
  readonly abortedResponses: () => number;
  close(): Promise<void>;
}

type UpstreamHandler = (request: IncomingMessage, response: ServerResponse, body: string) => void;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startUpstream(handler?: UpstreamHandler): Promise<UpstreamServer> {
  const received: ReceivedRequest[] = [];
  let aborted = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      response.on('close', () => {
        if (!response.writableFinished) aborted++;
      });
      if (handler) handler(request, response, body);
      else {
        const text = JSON.stringify({ ok: true });
        response.writeHead(200, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        });
        response.end(text);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const upstream: UpstreamServer = {
    endpoint: `127.0.0.1:${port}`,
    received,
    abortedResponses: () => aborted,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  cleanups.push(() => upstream.close());
  return upstream;
}

/** A port nothing listens on (bound once, then released). */
async function closedPortEndpoint(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

/** Simulator settings: fast model time (timeScale) so tests stay quick; echo mode for exact text. */
const fastSim = { model: 'sim-model', mode: 'echo', timeScale: 50 } as const;

async function startPod(config: Parameters<typeof startSimServer>[0] = {}): Promise<SimServer> {
  const pod = await startSimServer({ port: 0, ...fastSim, ...config });
  cleanups.push(() => pod.close(0));
  return pod;
}

async function startPods(replicas: number): Promise<SimCluster> {
  const cluster = await startSimCluster({ replicas, config: fastSim });
  cleanups.push(() => cluster.close(0));
  return cluster;
}

function endpointOf(pod: SimServer): string {
  return pod.url.replace(/^http:\/\//, '');
}

async function start(options: Partial<Parameters<typeof startGateway>[0]> & { pipeline: RequestPipeline }) {
  const gateway: Gateway = await startGateway({ endpoints: () => [], ...options });
  cleanups.push(() => gateway.close(1_000));
  return gateway;
}

function openAiClient(gateway: Gateway): OpenAI {
  return new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
}

/** Raw HTTP exchange with the gateway (no client-side header normalisation). */
function rawRequest(
  url: string,
  options: {
    method?: string;
    path: string;
    headers?: Record<string, string | number>;
    body?: string | Buffer;
  },
): Promise<{ status: number; headers: IncomingMessage['headers']; text: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(options.path, url);
    const request = httpRequest(
      target,
      { method: options.method ?? 'POST', headers: options.headers, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

const chatBody = (model: string, content: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model, messages: [{ role: 'user', content }], ...extra });

// ---------------------------------------------------------------------------------------------

describe('startGateway: OpenAI traffic through simulated pods', () => {
  it('serves non-streaming and streaming chat completions and restores the client model name', async () => {
    const pod = await startPod();
    const { pipeline, exchanges, requests } = createRoutingPipeline({
      targets: () => [endpointOf(pod)],
      modelRewrite: { clientName: 'client-alias', serverName: 'sim-model' },
    });
    const gateway = await start({ pipeline });
    const client = openAiClient(gateway);

    const completion = await client.chat.completions.create({
      model: 'client-alias',
      messages: [{ role: 'user', content: 'hello through the gateway' }],
      max_tokens: 20,
    });
    expect(completion.choices[0]?.message.content).toBe('hello through the gateway');
    // The simulator only serves `sim-model`: the rewrite happened, and the client sees its own name.
    expect(completion.model).toBe('client-alias');

    const stream = await client.chat.completions.create({
      model: 'client-alias',
      messages: [{ role: 'user', content: 'stream these words please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    const models = new Set<string>();
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      models.add(chunk.model);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('stream these words please');
    expect([...models]).toEqual(['client-alias']);
    expect(usage?.completion_tokens).toBe(4);

    const legacy = await client.completions.create({
      model: 'client-alias',
      prompt: 'plain completion',
      max_tokens: 5,
    });
    expect(legacy.model).toBe('client-alias');
    expect(legacy.choices[0]?.text).toBe('plain completion');

    expect(requests.map((request) => [request.method, request.path])).toEqual([
      ['POST', '/v1/chat/completions'],
      ['POST', '/v1/chat/completions'],
      ['POST', '/v1/completions'],
    ]);
    await gateway.close();
    for (const exchange of exchanges) {
      expect(exchange.responseHeaders).toEqual([{ status: 200, servedEndpoint: endpointOf(pod) }]);
      expect(exchange.completions).toEqual(['completed']);
    }
  });

  it('passes body-less requests (GET) through the pipeline to the chosen endpoint', async () => {
    const pod = await startPod();
    const { pipeline, requests } = createRoutingPipeline({ targets: () => [endpointOf(pod)] });
    const gateway = await start({ pipeline });
    const response = await rawRequest(gateway.url, { method: 'GET', path: '/version' });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toEqual({ version: 'llmd-sim' });
    expect(requests[0]?.body).toBeUndefined();
    expect(requests[0]?.method).toBe('GET');
  });

  it('adds the headers response plugins return to the client response', async () => {
    const pod = await startPod();
    const { pipeline } = createRoutingPipeline({
      targets: () => [endpointOf(pod)],
      responseHeadersToAdd: {
        [headerNames.sessionToken]: 'abc',
        [headerNames.wentIntoResponseHeaders]: 'true',
      },
    });
    const gateway = await start({ pipeline });
    const response = await rawRequest(gateway.url, {
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json' },
      body: chatBody('sim-model', 'hi'),
    });
    expect(response.status).toBe(200);
    expect(response.headers[headerNames.sessionToken]).toBe('abc');
    expect(response.headers[headerNames.wentIntoResponseHeaders]).toBe('true');
  });
});

describe('startGateway: request headers', () => {
  it('never forwards routing headers sent by the client and applies the pipeline headers', async () => {
    const upstream = await startUpstream();
    const { pipeline, requests } = createRoutingPipeline({
      targets: () => [upstream.endpoint],
      modelRewrite: { clientName: 'short', serverName: 'a-much-longer-model-name' },
      headersToSet: { [headerNames.prefillerHostPort]: '10.0.0.7:8000' },
    });
    const gateway = await start({ pipeline });
    const clientBody = chatBody('short', 'hi');
    const response = await rawRequest(gateway.url, {
      path: '/v1/chat/completions?trace=1',
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer client-key',
        'x-request-id': 'client-request-1',
        [headerNames.destinationEndpoint]: '6.6.6.6:80',
        [headerNames.prefillerHostPort]: '6.6.6.6:81',
        [headerNames.encoderHostsPorts]: '6.6.6.6:82',
        [headerNames.kvCacheSourceHostPort]: '6.6.6.6:83',
        [headerNames.dataParallelHostPort]: '6.6.6.6:84',
        connection: 'keep-alive, x-per-hop',
        'x-per-hop': 'dropped',
        'accept-encoding': 'gzip',
      },
      body: clientBody,
    });
    expect(response.status).toBe(200);

    // The pipeline never saw the client's routing headers.
    const seen = requests[0]?.headers ?? {};
    for (const name of routingHeaderNames) expect(seen[name]).toBeUndefined();
    expect(seen.authorization).toBe('Bearer client-key');

    const forwarded = upstream.received[0];
    expect(forwarded?.url).toBe('/v1/chat/completions?trace=1');
    const headers = forwarded?.headers ?? {};
    expect(headers[headerNames.prefillerHostPort]).toBe('10.0.0.7:8000');
    expect(headers[headerNames.destinationEndpoint]).toBeUndefined();
    expect(headers[headerNames.encoderHostsPorts]).toBeUndefined();
    expect(headers[headerNames.kvCacheSourceHostPort]).toBeUndefined();
    expect(headers[headerNames.dataParallelHostPort]).toBeUndefined();
    expect(headers['x-per-hop']).toBeUndefined();
    expect(headers['accept-encoding']).toBeUndefined();
    expect(headers.authorization).toBe('Bearer client-key');
    expect(headers['x-request-id']).toBe('client-request-1');
    expect(headers.host).toBe(upstream.endpoint);
    // The body was rewritten (longer model name): content-length follows the new body.
    expect(JSON.parse(forwarded?.body ?? '{}').model).toBe('a-much-longer-model-name');
    expect(Number(headers['content-length'])).toBe(Buffer.byteLength(forwarded?.body ?? ''));
    expect(Number(headers['content-length'])).toBeGreaterThan(Buffer.byteLength(clientBody));
  });

  it('drops hop-by-hop headers from the upstream response and re-frames the body', async () => {
    const upstream = await startUpstream((_request, response) => {
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': '11',
        'x-model-server': 'vllm',
        'keep-alive': 'timeout=5',
        connection: 'keep-alive, x-upstream-hop',
        'x-upstream-hop': 'secret',
      });
      response.end('{"ok":true}');
    });
    const { pipeline } = createRoutingPipeline({ targets: () => [upstream.endpoint] });
    const gateway = await start({ pipeline });
    const response = await rawRequest(gateway.url, { path: '/v1/completions', body: '{}' });
    expect(response.text).toBe('{"ok":true}');
    expect(response.headers['x-model-server']).toBe('vllm');
    expect(response.headers['x-upstream-hop']).toBeUndefined();
    expect(response.headers['keep-alive']).not.toBe('timeout=5');
  });
});

describe('startGateway: bad input and rejections', () => {
  it('answers 413 for a declared content-length over the limit without reading the body', async () => {
    const { pipeline, requests } = createRoutingPipeline({ targets: () => [] });
    const gateway = await start({ pipeline, maxBodyBytes: 1024 });
    const response = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = httpRequest(
        `${gateway.url}/v1/chat/completions`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': 10 * 1024 * 1024 },
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => {
            request.destroy();
            resolve({ status: answer.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
          });
        },
      );
      request.on('error', reject);
      // Only a first slice is sent: the answer must not wait for the declared 10 MiB.
      request.write(Buffer.alloc(4096, 0x20));
    });
    expect(response.status).toBe(413);
    const error = JSON.parse(response.text).error;
    expect(error).toMatchObject({ type: 'RequestEntityTooLargeError', code: 413, param: null });
    expect(error.message).toContain('1024');
    expect(requests).toHaveLength(0);
  });

  it('answers 413 for a chunked body once the counted bytes pass the limit', async () => {
    const { pipeline, requests } = createRoutingPipeline({ targets: () => [] });
    const gateway = await start({ pipeline, maxBodyBytes: 1024 });
    const response = await rawRequest(gateway.url, {
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: Buffer.alloc(8192, 0x20),
    });
    expect(response.status).toBe(413);
    expect(requests).toHaveLength(0);
    // The limit is inclusive: a body of exactly maxBodyBytes is accepted.
    const exact = await rawRequest(gateway.url, {
      path: '/v1/chat/completions',
      body: `{"pad":"${'x'.repeat(1024 - 10)}"}`,
    });
    expect(exact.status).toBe(503);
    expect(requests).toHaveLength(1);
  });

  it('passes a pipeline rejection of a malformed body through as an OpenAI 400', async () => {
    const { pipeline } = createRoutingPipeline({ targets: () => [] });
    const gateway = await start({ pipeline });
    const response = await rawRequest(gateway.url, {
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json' },
      body: '{"model": "x", "messages": [',
    });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.text)).toEqual({
      error: {
        message: 'inference error: BadRequest - body is not a JSON object',
        type: 'BadRequestError',
        param: null,
        code: 400,
      },
    });
    // The official client maps it to its BadRequestError.
    const error = await openAiClient(gateway)
      .post('/chat/completions', { body: 'not json' as unknown as Record<string, unknown> })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('answers 503 with the drop reason when the pipeline has no endpoints, and 429 when saturated', async () => {
    const noEndpoints = createRejectingPipeline(503, 'rejected-no-endpoints', 'no candidate endpoints');
    const gateway = await start({ pipeline: noEndpoints.pipeline });
    const response = await rawRequest(gateway.url, {
      path: '/v1/completions',
      body: '{"model":"m","prompt":"p"}',
    });
    expect(response.status).toBe(503);
    expect(response.headers[headerNames.requestDroppedReason]).toBe('rejected-no-endpoints');
    expect(JSON.parse(response.text).error.message).toBe(
      'inference error: ServiceUnavailable - no candidate endpoints',
    );

    const saturated = createRejectingPipeline(429, 'rejected-saturated', 'all endpoints filtered out');
    const second = await start({ pipeline: saturated.pipeline });
    const error = await openAiClient(second)
      .completions.create({ model: 'm', prompt: 'p' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(
      (error as InstanceType<typeof OpenAI.RateLimitError>).headers.get(headerNames.requestDroppedReason),
    ).toBe('rejected-saturated');
  });

  it('answers 503 rejected-no-endpoints for a route with an empty target list', async () => {
    const { pipeline, exchanges } = createRoutingPipeline({ targets: () => [] });
    const gateway = await start({ pipeline });
    const response = await rawRequest(gateway.url, { path: '/v1/completions', body: '{}' });
    expect(response.status).toBe(503);
    expect(response.headers[headerNames.requestDroppedReason]).toBe('rejected-no-endpoints');
    await gateway.close();
    expect(exchanges[0]?.completions).toEqual(['rejected']);
  });

  it('answers 500 when the pipeline throws, and keeps serving', async () => {
    let fail = true;
    const upstream = await startUpstream();
    const routing = createRoutingPipeline({ targets: () => [upstream.endpoint] });
    const pipeline: RequestPipeline = {
      handle: async (request) => {
        if (fail) throw new Error('scheduler bug');
        return routing.pipeline.handle(request);
      },
    };
    const gateway = await start({ pipeline });
    const first = await rawRequest(gateway.url, { path: '/v1/completions', body: '{}' });
    expect(first.status).toBe(500);
    expect(JSON.parse(first.text).error.type).toBe('InternalServerError');
    fail = false;
    const second = await rawRequest(gateway.url, { path: '/v1/completions', body: '{}' });
    expect(second.status).toBe(200);
  });

  it('answers malformed HTTP with 400 and keeps serving', async () => {
    const upstream = await startUpstream();
    const { pipeline } = createRoutingPipeline({ targets: () => [upstream.endpoint] });
    const gateway = await start({ pipeline });
    const { connect } = await import('node:net');
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(gateway.port, '127.0.0.1', () => socket.write('NOT-HTTP \x00\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString();
      });
      socket.on('close', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect((await rawRequest(gateway.url, { path: '/v1/completions', body: '{}' })).status).toBe(200);
  });
});

describe('startGateway: fallbacks', () => {
  it('retries the next target when the first refuses the connection, and reports the one that served', async () => {
    const dead = await closedPortEndpoint();
    const pod = await startPod();
    const { pipeline, exchanges } = createRoutingPipeline({ targets: () => [dead, endpointOf(pod)] });
    const gateway = await start({ pipeline });
    const completion = await openAiClient(gateway).chat.completions.create({
      model: 'sim-model',
      messages: [{ role: 'user', content: 'fallback works' }],
    });
    expect(completion.choices[0]?.message.content).toBe('fallback works');
    await gateway.close();
    expect(exchanges[0]?.responseHeaders).toEqual([{ status: 200, servedEndpoint: endpointOf(pod) }]);
    expect(exchanges[0]?.completions).toEqual(['completed']);
  });

  it('retries on a 5xx before the body, but passes the last target’s 5xx through', async () => {
    const failing = await startPod({ failureInjectionRate: 100, failureTypes: ['server_error'] });
    const healthy = await startPod();
    const retried = createRoutingPipeline({ targets: () => [endpointOf(failing), endpointOf(healthy)] });
    const gateway = await start({ pipeline: retried.pipeline });
    const response = await rawRequest(gateway.url, {
      path: '/v1/chat/completions',
      body: chatBody('sim-model', 'x'),
    });
    expect(response.status).toBe(200);
    expect(response.headers['x-inference-port']).toBe(String(healthy.ranks[0]?.port));

    const onlyFailing = createRoutingPipeline({ targets: () => [endpointOf(failing)] });
    const second = await start({ pipeline: onlyFailing.pipeline });
    const passed = await rawRequest(second.url, {
      path: '/v1/chat/completions',
      body: chatBody('sim-model', 'x'),
    });
    expect(passed.status).toBe(503);
    expect(JSON.parse(passed.text).error.message).toContain('overloaded');
    await second.close();
    expect(onlyFailing.exchanges[0]?.responseHeaders).toEqual([
      { status: 503, servedEndpoint: endpointOf(failing) },
    ]);
  });

  it('answers 502 when every target fails, and reports upstream-error', async () => {
    const targets = [await closedPortEndpoint(), await closedPortEndpoint()];
    const { pipeline, exchanges } = createRoutingPipeline({ targets: () => targets });
    const gateway = await start({ pipeline });
    const response = await rawRequest(gateway.url, { path: '/v1/completions', body: '{}' });
    expect(response.status).toBe(502);
    expect(JSON.parse(response.text).error).toMatchObject({ type: 'BadGatewayError', code: 502 });
    await gateway.close();
    expect(exchanges[0]?.responseHeaders).toEqual([]);
    expect(exchanges[0]?.completions).toEqual(['upstream-error']);
  });

  it('loses no request when a pod is killed before it started streaming', async () => {
    // Pod A takes 30 s (model time) to answer; pod B is fast.
    const slow = await startPod({ timeScale: 1, latencyCalculator: 'constant', timeToFirstToken: 30_000 });
    const fast = await startPod();
    const { pipeline, exchanges } = createRoutingPipeline({
      targets: () => [endpointOf(slow), endpointOf(fast)],
    });
    const gateway = await start({ pipeline });
    const client = openAiClient(gateway);

    const nonStreaming = client.chat.completions.create({
      model: 'sim-model',
      messages: [{ role: 'user', content: 'survive the kill' }],
    });
    const streaming = client.chat.completions.create({
      model: 'sim-model',
      messages: [{ role: 'user', content: 'survive the kill streaming' }],
      stream: true,
    });
    const engine = slow.ranks[0]?.engine;
    await vi.waitFor(() => expect((engine?.runningCount ?? 0) + (engine?.waitingCount ?? 0)).toBe(2));
    await slow.close(0);

    expect((await nonStreaming).choices[0]?.message.content).toBe('survive the kill');
    let text = '';
    for await (const chunk of await streaming) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('survive the kill streaming');

    // A pod already gone when the request arrives: the connection is refused, the fallback serves.
    const afterwards = await client.chat.completions.create({
      model: 'sim-model',
      messages: [{ role: 'user', content: 'after the kill' }],
    });
    expect(afterwards.choices[0]?.message.content).toBe('after the kill');
    await gateway.close();
    for (const exchange of exchanges) {
      expect(exchange.responseHeaders).toEqual([{ status: 200, servedEndpoint: endpointOf(fast) }]);
      expect(exchange.completions).toEqual(['completed']);
    }
  });
});

describe('startGateway: client disconnects and backpressure', () => {
  it('aborts the upstream request when the client disconnects mid-stream', async () => {
    // Real-time pod: 500 tokens at 20 ms each, far longer than the test.
    const pod = await startPod({ timeScale: 1, mode: 'random', interTokenLatency: 20, prefillOverhead: 1 });
    const { pipeline, exchanges } = createRoutingPipeline({ targets: () => [endpointOf(pod)] });
    const gateway = await start({ pipeline });
    const controller = new AbortController();
    const stream = await openAiClient(gateway).chat.completions.create(
      {
        model: 'sim-model',
        messages: [{ role: 'user', content: 'a long answer please' }],
        max_tokens: 500,
        stream: true,
      },
      { signal: controller.signal },
    );
    let chunks = 0;
    try {
      for await (const _chunk of stream) {
        if (++chunks === 3) controller.abort();
      }
    } catch {
      // Depending on timing the client's iterator ends or throws an abort error; both are fine.
    }
    expect(chunks).toBe(3);
    const engine = pod.ranks[0]?.engine;
    await vi.waitFor(() => expect(engine?.runningCount).toBe(0));
    await vi.waitFor(() => expect(exchanges[0]?.completions).toEqual(['client-disconnected']));
    await gateway.close();
    expect(exchanges[0]?.completions).toEqual(['client-disconnected']);
  });

  it('pauses the upstream while the client does not read, and resumes it on drain', async () => {
    const total = 256 * 1024 * 1024;
    const piece = Buffer.alloc(64 * 1024, 0x61);
    let written = 0;
    let blockedWrites = 0;
    const upstream = await startUpstream((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      const pump = () => {
        while (written < total && !response.destroyed) {
          written += piece.length;
          if (!response.write(piece)) {
            blockedWrites++;
            response.once('drain', pump);
            return;
          }
        }
        if (!response.destroyed) response.end();
      };
      pump();
    });
    const { pipeline, exchanges } = createRoutingPipeline({ targets: () => [upstream.endpoint] });
    const gateway = await start({ pipeline, clientStallMs: 60_000 });

    let received = 0;
    const clientResponse = await new Promise<IncomingMessage>((resolve, reject) => {
      const request = httpRequest(`${gateway.url}/v1/large`, { method: 'POST', agent: false }, resolve);
      request.on('error', reject);
      request.end('{}');
    });
    clientResponse.pause();

    // Wait until the upstream is blocked and the amount written stops growing.
    let previous = -1;
    let stableRounds = 0;
    await vi.waitFor(
      () => {
        if (written === previous && blockedWrites > 0) stableRounds++;
        else stableRounds = 0;
        previous = written;
        expect(stableRounds).toBeGreaterThanOrEqual(5);
      },
      { timeout: 20_000, interval: 100 },
    );
    // Socket buffers on both hops plus one stream buffer each: a few MiB, nowhere near the total.
    const writtenWhileStalled = written;
    expect(writtenWhileStalled).toBeLessThan(64 * 1024 * 1024);

    // Reading again drains the gateway, which resumes the upstream.
    clientResponse.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    clientResponse.resume();
    await vi.waitFor(() => expect(written).toBeGreaterThan(writtenWhileStalled + 16 * 1024 * 1024), {
      timeout: 20_000,
    });
    expect(received).toBeGreaterThan(0);
    clientResponse.destroy();
    await vi.waitFor(() => expect(upstream.abortedResponses()).toBe(1));
    await gateway.close();
    expect(exchanges[0]?.completions).toEqual(['client-disconnected']);
  }, 60_000);

  it('disconnects a client that stops reading for longer than clientStallMs', async () => {
    const piece = Buffer.alloc(64 * 1024, 0x62);
    const upstream = await startUpstream((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      const pump = () => {
        while (!response.destroyed) {
          if (!response.write(piece)) {
            response.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
    const { pipeline, exchanges } = createRoutingPipeline({ targets: () => [upstream.endpoint] });
    const gateway = await start({ pipeline, clientStallMs: 200 });
    const request = httpRequest(`${gateway.url}/v1/large`, { method: 'POST', agent: false }, (response) => {
      // A paused client reads nothing, not even the gateway closing the connection.
      response.pause();
      response.on('error', () => {});
    });
    request.on('error', () => {});
    request.end('{}');
    cleanups.push(async () => void request.destroy());
    await vi.waitFor(() => expect(exchanges[0]?.completions).toEqual(['client-disconnected']));
    await vi.waitFor(() => expect(upstream.abortedResponses()).toBe(1));
  });
});

describe('startGateway: response framing and upstream attempts', () => {
  const serverName = 'a-much-longer-model-name';
  const modelRewrite = { clientName: 'short', serverName };

  it('sends a whole answer with its exact length after the exchange rewrote it, and streams a multi-part one', async () => {
    const upstream = await startUpstream((request, response) => {
      if (request.url === '/whole') {
        const text = JSON.stringify({ model: serverName, ok: true });
        response.writeHead(200, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        });
        response.end(text);
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(`data: {"model":"${serverName}","n":1}\n\n`);
      // The second event comes in a later read: the first one must already be on its way.
      setTimeout(() => response.end(`data: {"model":"${serverName}","n":2}\n\n`), 50);
    });
    const { pipeline, exchanges } = createRoutingPipeline({
      targets: () => [upstream.endpoint],
      modelRewrite,
    });
    const gateway = await start({ pipeline });

    const whole = await rawRequest(gateway.url, { path: '/whole', body: '{}' });
    expect(whole.text).toBe('{"model":"short","ok":true}');
    expect(whole.headers['content-length']).toBe(String(Buffer.byteLength(whole.text)));
    expect(whole.headers['transfer-encoding']).toBeUndefined();

    const streamed = await rawRequest(gateway.url, { path: '/stream', body: '{}' });
    expect(streamed.text).toBe('data: {"model":"short","n":1}\n\ndata: {"model":"short","n":2}\n\n');
    expect(streamed.headers['transfer-encoding']).toBe('chunked');
    expect(streamed.headers['content-length']).toBeUndefined();

    await gateway.close();
    for (const exchange of exchanges) expect(exchange.completions).toEqual(['completed']);
    // Plugins always see the headers before any byte of the body.
    expect(exchanges[0]?.calls).toEqual(['headers', 'last-chunk']);
    expect(exchanges[1]?.calls).toEqual(['headers', 'chunk', 'chunk', 'last-chunk']);
  });

  it('relays body-less answers without inventing a length', async () => {
    const upstream = await startUpstream((_request, response) => {
      response.writeHead(204, { 'x-answer': 'none' });
      response.end();
    });
    const { pipeline } = createRoutingPipeline({ targets: () => [upstream.endpoint] });
    const gateway = await start({ pipeline });
    const response = await rawRequest(gateway.url, { path: '/v1/nothing', body: '{}' });
    expect(response.status).toBe(204);
    expect(response.text).toBe('');
    expect(response.headers['x-answer']).toBe('none');
    expect(response.headers['content-length']).toBeUndefined();
  });

  it('skips informational responses and relays the final one', async () => {
    const upstream = await startUpstream((_request, response) => {
      response.writeEarlyHints({ link: '</hint>; rel=preload' });
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': 11 });
      response.end('{"ok":true}');
    });
    const { pipeline, exchanges } = createRoutingPipeline({ targets: () => [upstream.endpoint] });
    const gateway = await start({ pipeline });
    const response = await rawRequest(gateway.url, { path: '/v1/completions', body: '{}' });
    expect(response.status).toBe(200);
    expect(response.text).toBe('{"ok":true}');
    await gateway.close();
    expect(exchanges[0]?.responseHeaders).toEqual([{ status: 200, servedEndpoint: upstream.endpoint }]);
  });

  it('retries the next target when a response breaks off between its headers and its first body byte', async () => {
    const broken = await startUpstream((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': 100 });
      response.flushHeaders();
      setTimeout(() => response.socket?.destroy(), 20);
    });
    const healthy = await startUpstream();
    const { pipeline, exchanges } = createRoutingPipeline({
      targets: () => [broken.endpoint, healthy.endpoint],
    });
    const gateway = await start({ pipeline });
    const response = await rawRequest(gateway.url, { path: '/v1/completions', body: '{}' });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toEqual({ ok: true });
    await gateway.close();
    expect(exchanges[0]?.responseHeaders).toEqual([{ status: 200, servedEndpoint: healthy.endpoint }]);
    expect(exchanges[0]?.completions).toEqual(['completed']);
  });

  it('finishes a request still queued for a connection as soon as its client leaves, and never sends it', async () => {
    const held: ServerResponse[] = [];
    const upstream = await startUpstream((_request, response) => {
      if (held.length === 0) held.push(response);
      else response.end('{"ok":true}');
    });
    const { pipeline, exchanges, requests } = createRoutingPipeline({ targets: () => [upstream.endpoint] });
    const gateway = await start({ pipeline, maxConnectionsPerEndpoint: 1 });

    const first = rawRequest(gateway.url, { path: '/v1/first', body: '{}' });
    await vi.waitFor(() => expect(held).toHaveLength(1));
    // The only connection is busy: the second request waits in the gateway's upstream queue.
    const queued = httpRequest(`${gateway.url}/v1/queued`, { method: 'POST', agent: false });
    queued.on('error', () => {});
    queued.end('{}');
    await vi.waitFor(() => expect(requests).toHaveLength(2));
    queued.destroy();
    await vi.waitFor(() => expect(exchanges[1]?.completions).toEqual(['client-disconnected']));
    expect(exchanges[0]?.completions).toEqual([]);

    held[0]?.end('{"late":true}');
    expect((await first).text).toBe('{"late":true}');
    // Served after the abandoned one left the queue: the upstream only ever saw the live requests.
    expect((await rawRequest(gateway.url, { path: '/v1/third', body: '{}' })).status).toBe(200);
    expect(upstream.received.map((received) => received.url)).toEqual(['/v1/first', '/v1/third']);
  });

  it('aborts the signal the pipeline holds when the client leaves while it decides', async () => {
    let called = 0;
    let released = 0;
    const pipeline: RequestPipeline = {
      async handle(request) {
        called++;
        const signal = request.signal;
        await new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          else signal.addEventListener('abort', () => resolve(), { once: true });
        });
        released++;
        return {
          kind: 'reject',
          requestId: 'cancelled',
          status: 503,
          dropReason: 'rejected-context-cancelled',
          message: 'client left',
        };
      },
    };
    const gateway = await start({ pipeline });
    const request = httpRequest(`${gateway.url}/v1/completions`, { method: 'POST', agent: false });
    request.on('error', () => {});
    request.end('{}');
    await vi.waitFor(() => expect(called).toBe(1));
    request.destroy();
    await vi.waitFor(() => expect(released).toBe(1));
  });
});

describe('startGateway: /v1/models, /health, /metrics, close', () => {
  it('aggregates /v1/models from every endpoint, skipping dead ones', async () => {
    const cluster = await startPods(2);
    const other = await startPod({ model: 'other-model', servedModelName: ['other-model', 'sim-model'] });
    const dead = await closedPortEndpoint();
    const { pipeline, requests } = createRoutingPipeline({ targets: () => [] });
    const gateway = await start({
      pipeline,
      endpoints: () => [...cluster.endpoints, { key: endpointOf(other) }, dead],
      modelsTimeoutMs: 1_000,
    });
    const models = await openAiClient(gateway).models.list();
    expect(models.data.map((model) => model.id).sort()).toEqual(['other-model', 'sim-model']);
    expect(models.data.every((model) => model.object === 'model')).toBe(true);
    expect(requests).toHaveLength(0);

    const empty = await start({ pipeline, endpoints: () => [] });
    const none = await rawRequest(empty.url, { method: 'GET', path: '/v1/models' });
    expect(none.status).toBe(503);
    expect(none.headers[headerNames.requestDroppedReason]).toBe('rejected-no-endpoints');

    const allDead = await start({ pipeline, endpoints: () => [dead] });
    expect((await rawRequest(allDead.url, { method: 'GET', path: '/v1/models' })).status).toBe(502);
  });

  it('answers /health from isReady and /metrics from the handler', async () => {
    let ready = false;
    const { pipeline } = createRoutingPipeline({ targets: () => [] });
    const gateway = await start({
      pipeline,
      isReady: () => ready,
      metricsHandler: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'llmd_up 1\n' }),
    });
    const notReady = await rawRequest(gateway.url, { method: 'GET', path: '/health' });
    expect(notReady.status).toBe(503);
    ready = true;
    const healthy = await rawRequest(gateway.url, { method: 'GET', path: '/health' });
    expect(healthy.status).toBe(200);
    expect(JSON.parse(healthy.text)).toEqual({ status: 'ok' });
    const metrics = await rawRequest(gateway.url, { method: 'GET', path: '/metrics' });
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toBe('text/plain; version=0.0.4');
    expect(metrics.text).toBe('llmd_up 1\n');

    const withoutMetrics = await start({ pipeline });
    expect((await rawRequest(withoutMetrics.url, { method: 'GET', path: '/metrics' })).status).toBe(404);
  });

  it('close() lets an in-flight stream finish, then refuses connections', async () => {
    const pod = await startPod({ timeScale: 1, interTokenLatency: 20, prefillOverhead: 1 });
    const { pipeline, exchanges } = createRoutingPipeline({ targets: () => [endpointOf(pod)] });
    const gateway = await start({ pipeline });
    const stream = await openAiClient(gateway).chat.completions.create({
      model: 'sim-model',
      messages: [{ role: 'user', content: 'one two three four five six seven eight' }],
      stream: true,
    });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    const closed = gateway.close(10_000);
    let text = '';
    for (let next = await iterator.next(); !next.done; next = await iterator.next())
      text += next.value.choices[0]?.delta.content ?? '';
    await closed;
    expect(text).toContain('eight');
    expect(exchanges[0]?.completions).toEqual(['completed']);
    await expect(rawRequest(gateway.url, { method: 'GET', path: '/health' })).rejects.toThrow();
  });

  it('close() aborts requests still in flight after the timeout', async () => {
    const pod = await startPod({ timeScale: 1, mode: 'random', interTokenLatency: 50, prefillOverhead: 1 });
    const { pipeline, exchanges } = createRoutingPipeline({ targets: () => [endpointOf(pod)] });
    const gateway = await start({ pipeline });
    const stream = await openAiClient(gateway).chat.completions.create({
      model: 'sim-model',
      messages: [{ role: 'user', content: 'long' }],
      max_tokens: 1000,
      stream: true,
    });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    await gateway.close(50);
    await expect(
      (async () => {
        for (let next = await iterator.next(); !next.done; next = await iterator.next());
      })(),
    ).rejects.toThrow();
    expect(exchanges[0]?.completions).toEqual(['client-disconnected']);
    await vi.waitFor(() => expect(pod.ranks[0]?.engine.runningCount).toBe(0));
  });

  it('answers 503 beyond maxInFlightRequests, so memory stays bounded', async () => {
    const held: ServerResponse[] = [];
    const upstream = await startUpstream((_request, response) => {
      if (held.length === 0) held.push(response);
      else response.end('{"ok":true}');
    });
    const { pipeline } = createRoutingPipeline({ targets: () => [upstream.endpoint] });
    const gateway = await start({ pipeline, maxInFlightRequests: 1 });
    const first = rawRequest(gateway.url, { path: '/v1/completions', body: '{}' });
    await vi.waitFor(() => expect(held).toHaveLength(1));
    const second = await rawRequest(gateway.url, { path: '/v1/completions', body: '{}' });
    expect(second.status).toBe(503);
    expect(JSON.parse(second.text).error.message).toContain('too many requests in flight');
    expect((await rawRequest(gateway.url, { method: 'GET', path: '/health' })).status).toBe(200);
    held[0]?.end('{"late":true}');
    expect((await first).text).toBe('{"late":true}');
    expect((await rawRequest(gateway.url, { path: '/v1/completions', body: '{}' })).status).toBe(200);
  });

  it('rejects invalid settings with a named field', async () => {
    const { pipeline } = createRoutingPipeline({ targets: () => [] });
    await expect(startGateway({ pipeline, endpoints: () => [], maxBodyBytes: -1 })).rejects.toThrow(
      /maxBodyBytes/,
    );
  });
});
