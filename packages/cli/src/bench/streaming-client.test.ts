import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type SimServer, startSimServer } from '@llmd/sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPromptVocabulary } from './prompt-vocabulary.js';
import { createSeededRandom } from './seeded-random.js';
import { endpointUrl, sendStreamingRequest } from './streaming-client.js';
import type { BenchRequest } from './workload.js';

const model = 'bench-model';
const vocabulary = createPromptVocabulary();
let sim: SimServer;

beforeAll(async () => {
  sim = await startSimServer({ port: 0, model, timeScale: 1000, seed: 1 });
});
afterAll(async () => {
  await sim.close(100);
});

function completionRequest(id: string, length: number, maxTokens = 5): BenchRequest {
  return {
    id,
    api: 'completions',
    prompt: vocabulary.text(createSeededRandom(length), length),
    promptTokens: length,
    maxTokens,
  };
}

async function listenOnFreePort(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('endpointUrl', () => {
  it('appends the API path, accepting a trailing slash or /v1', () => {
    expect(endpointUrl('http://host:1', 'completions')).toBe('http://host:1/v1/completions');
    expect(endpointUrl('http://host:1/', 'chat')).toBe('http://host:1/v1/chat/completions');
    expect(endpointUrl('http://host:1/v1/', 'chat')).toBe('http://host:1/v1/chat/completions');
  });
});

describe('sendStreamingRequest against the simulator', () => {
  it('measures a streamed completion and reads usage, then sees cached tokens on a repeat', async () => {
    const request = completionRequest('first', 40);
    const first = await sendStreamingRequest({ baseUrl: sim.url, model, request });
    expect(first).toMatchObject({
      requestId: 'first',
      ok: true,
      cancelled: false,
      status: 200,
      errorKey: undefined,
      outputTokens: 5,
      promptTokens: 40,
      cachedTokens: 0,
    });
    expect(first.timeToFirstTokenMilliseconds).toBeGreaterThanOrEqual(0);
    expect(first.interTokenLatenciesMilliseconds).toHaveLength(4);
    expect(first.endToEndMilliseconds).toBeGreaterThanOrEqual(first.timeToFirstTokenMilliseconds as number);
    expect(first.text.length).toBeGreaterThan(0);

    const repeat = await sendStreamingRequest({
      baseUrl: sim.url,
      model,
      request: { ...request, id: 'again' },
    });
    expect(repeat.ok).toBe(true);
    // 40 tokens hold two full 16-token blocks, which the first request left in the cache.
    expect(repeat.cachedTokens).toBe(32);
  });

  it('streams chat completions; usage counts the chat template too', async () => {
    const outcome = await sendStreamingRequest({
      baseUrl: `${sim.url}/v1`,
      model,
      request: {
        id: 'chat',
        api: 'chat',
        messages: [{ role: 'user', content: vocabulary.text(createSeededRandom(1), 12) }],
        promptTokens: 12,
        maxTokens: 3,
      },
    });
    expect(outcome).toMatchObject({ ok: true, status: 200, outputTokens: 3 });
    expect(outcome.promptTokens).toBeGreaterThan(12);
    expect(outcome.interTokenLatenciesMilliseconds).toHaveLength(2);
  });

  it('counts an HTTP error under its status with the server message', async () => {
    const outcome = await sendStreamingRequest({
      baseUrl: sim.url,
      model: 'no-such-model',
      request: completionRequest('missing', 4),
    });
    expect(outcome).toMatchObject({ ok: false, status: 404, errorKey: '404', cancelled: false });
    expect(outcome.errorMessage).toMatch(/does not exist/);
    const forced = await sendStreamingRequest({
      baseUrl: sim.url,
      model,
      request: completionRequest('forced', 4),
      headers: { 'x-return-error': '503' },
    });
    expect(forced).toMatchObject({ ok: false, status: 503, errorKey: '503' });
  });

  it('reports a refused connection as network', async () => {
    const server = createServer();
    const port = await listenOnFreePort(server);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const outcome = await sendStreamingRequest({
      baseUrl: `http://127.0.0.1:${port}`,
      model,
      request: completionRequest('refused', 4),
    });
    expect(outcome).toMatchObject({ ok: false, status: undefined, errorKey: 'network' });
    expect(outcome.errorMessage).toMatch(/ECONNREFUSED/);
  });

  it('times out a slow request and reports an aborted one as cancelled', async () => {
    const slow = await startSimServer({ port: 0, model, timeToFirstToken: '60s' });
    try {
      const timedOut = await sendStreamingRequest({
        baseUrl: slow.url,
        model,
        request: completionRequest('slow', 4),
        timeoutMilliseconds: 50,
      });
      expect(timedOut).toMatchObject({ ok: false, errorKey: 'timeout', cancelled: false });

      const controller = new AbortController();
      const pending = sendStreamingRequest({
        baseUrl: slow.url,
        model,
        request: completionRequest('aborted', 4),
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(), 20);
      expect(await pending).toMatchObject({ ok: false, errorKey: undefined, cancelled: true });
    } finally {
      await slow.close(100);
    }
  });
});

describe('sendStreamingRequest against malformed streams', () => {
  // The simulator only sends well-formed streams; this plain HTTP server sends crafted bytes to
  // exercise the client's handling of broken servers.
  const bodies: Record<string, string> = {
    '/malformed/v1/completions': 'data: {"choices":[{"text":"a"}]}\n\ndata: {not json\n\n',
    '/error/v1/completions': 'data: {"error":{"message":"engine died","code":500}}\n\n',
    '/truncated/v1/completions': 'data: {"choices":[{"text":"a"}]}\n\n',
    '/no-usage/v1/completions':
      'data: {"choices":[{"text":"a"}]}\n\ndata: {"choices":[{"text":""}]}\n\ndata: {"choices":[{"text":"b"}]}\n\ndata: [DONE]\n\n',
  };
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((request, response) => {
      request.resume();
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.end(bodies[request.url ?? ''] ?? '');
    });
    base = `http://127.0.0.1:${await listenOnFreePort(server)}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it.each([
    ['malformed', /malformed stream event/],
    ['error', /engine died/],
    ['truncated', /before data: \[DONE\]/],
  ])('counts a %s stream as a stream error', async (path, message) => {
    const outcome = await sendStreamingRequest({
      baseUrl: `${base}/${path}`,
      model,
      request: completionRequest(path, 3),
    });
    expect(outcome).toMatchObject({ ok: false, status: 200, errorKey: 'stream' });
    expect(outcome.errorMessage).toMatch(message);
  });

  it('counts text chunks as output tokens when the server sends no usage', async () => {
    const outcome = await sendStreamingRequest({
      baseUrl: `${base}/no-usage`,
      model,
      request: completionRequest('x', 3),
    });
    expect(outcome).toMatchObject({
      ok: true,
      outputTokens: 2,
      text: 'ab',
      promptTokens: undefined,
      cachedTokens: undefined,
    });
    expect(outcome.interTokenLatenciesMilliseconds).toHaveLength(1);
  });
});
