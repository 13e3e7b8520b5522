import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/validation-error.js';
import { createRenderClient } from './render-client.js';

interface RecordedRequest {
  method: string | undefined;
  path: string | undefined;
  body: Record<string, unknown>;
}

// This local HTTP server stands in for vLLM's render endpoints: no vLLM can run in this environment.
// Its answers follow the GenerateRequest shape vLLM returns (a list of them for completions).
describe('createRenderClient against a local HTTP server', () => {
  let server: Server;
  let baseUrl: string;
  const requests: RecordedRequest[] = [];

  const reply = (response: ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(typeof body === 'string' ? body : JSON.stringify(body));
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    let text = '';
    for await (const chunk of request) text += String(chunk);
    const body = (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
    requests.push({ method: request.method, path: request.url, body });
    const prompt = typeof body.prompt === 'string' ? body.prompt : '';
    if (request.url === '/v1/completions/render') {
      if (prompt === 'slow') {
        await new Promise((resolve) => setTimeout(resolve, 500));
        return reply(response, 200, []);
      }
      if (prompt === 'broken') return reply(response, 500, { error: 'engine exploded' });
      if (prompt === 'not json') return reply(response, 200, '<html>');
      if (prompt === 'empty') return reply(response, 200, { request_id: 'x' });
      if (prompt === 'legacy') return reply(response, 200, { prompt_token_ids: [7, 8, 9] });
      return reply(response, 200, [
        {
          request_id: 'cmpl-1',
          token_ids: [9707, 1879],
          sampling_params: { max_tokens: 16 },
          model: body.model,
        },
      ]);
    }
    if (request.url === '/v1/chat/completions/render') {
      return reply(response, 200, {
        request_id: 'chatcmpl-1',
        token_ids: [151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198],
        features: null,
      });
    }
    return reply(response, 404, { detail: 'Not Found' });
  };

  beforeAll(async () => {
    server = createServer((request, response) => {
      handle(request, response).catch((error: unknown) => reply(response, 599, String(error)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const lastRequest = (): RecordedRequest => {
    const request = requests.at(-1);
    if (request === undefined) throw new Error('no request recorded');
    return request;
  };

  it('tokenizes text through /v1/completions/render', async () => {
    const client = createRenderClient({ baseUrl, model: 'Qwen/Qwen3-0.6B' });
    expect(client.name).toBe(baseUrl);
    expect(client.modelName).toBe('Qwen/Qwen3-0.6B');
    await expect(client.tokenize('Hello world')).resolves.toEqual([9707, 1879]);
    expect(lastRequest()).toEqual({
      method: 'POST',
      path: '/v1/completions/render',
      body: { model: 'Qwen/Qwen3-0.6B', prompt: 'Hello world' },
    });
    await client.tokenize('Hello world', { addSpecialTokens: false });
    expect(lastRequest().body).toEqual({
      model: 'Qwen/Qwen3-0.6B',
      prompt: 'Hello world',
      add_special_tokens: false,
    });
  });

  it('renders chats through /v1/chat/completions/render', async () => {
    const client = createRenderClient({ baseUrl: `${baseUrl}/v1/`, model: 'Qwen/Qwen3-0.6B' });
    const tools = [{ type: 'function' as const, function: { name: 'get_weather' } }];
    const ids = await client.renderChat([{ role: 'user', content: 'Hi' }], {
      tools,
      templateKwargs: { enable_thinking: false },
    });
    expect(ids).toEqual([151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198]);
    expect(lastRequest()).toEqual({
      method: 'POST',
      path: '/v1/chat/completions/render',
      body: {
        model: 'Qwen/Qwen3-0.6B',
        messages: [{ role: 'user', content: 'Hi' }],
        add_generation_prompt: true,
        tools,
        chat_template_kwargs: { enable_thinking: false },
      },
    });
  });

  it('accepts the older prompt_token_ids field', async () => {
    const client = createRenderClient({ baseUrl, model: 'm' });
    await expect(client.tokenize('legacy')).resolves.toEqual([7, 8, 9]);
  });

  it('fails with render_failed naming the URL and status on an error status', async () => {
    const client = createRenderClient({ baseUrl, model: 'm' });
    await expect(client.tokenize('broken')).rejects.toMatchObject({
      code: 'render_failed',
      message: expect.stringMatching(
        new RegExp(
          `POST ${baseUrl}/v1/completions/render returned 500 Internal Server Error: .*engine exploded`,
        ),
      ),
    });
  });

  it('hints at disabled render endpoints on 404', async () => {
    const client = createRenderClient({ baseUrl: `${baseUrl}/elsewhere`, model: 'm' });
    await expect(client.tokenize('x')).rejects.toMatchObject({
      code: 'render_failed',
      message: expect.stringContaining('returned 404 Not Found (are the vLLM render endpoints enabled?)'),
    });
  });

  it('fails with render_failed on a timeout', async () => {
    const client = createRenderClient({ baseUrl, model: 'm', timeoutMs: 50 });
    await expect(client.tokenize('slow')).rejects.toMatchObject({
      code: 'render_failed',
      message: expect.stringContaining('timed out after 50 ms'),
    });
  });

  it('rejects with the caller’s abort reason when the caller aborts', async () => {
    const client = createRenderClient({ baseUrl, model: 'm' });
    const controller = new AbortController();
    const pending = client.tokenize('slow', { signal: controller.signal });
    controller.abort(new Error('client went away'));
    await expect(pending).rejects.toThrow('client went away');
  });

  it('fails with render_failed on responses without token ids or without JSON', async () => {
    const client = createRenderClient({ baseUrl, model: 'm' });
    await expect(client.tokenize('empty')).rejects.toMatchObject({
      code: 'render_failed',
      message: expect.stringContaining('holds no token_ids'),
    });
    await expect(client.tokenize('not json')).rejects.toMatchObject({
      code: 'render_failed',
      message: expect.stringContaining('is not JSON'),
    });
  });

  it('fails with render_failed when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const client = createRenderClient({ baseUrl: `http://127.0.0.1:${port}`, model: 'm' });
    await expect(client.tokenize('x')).rejects.toMatchObject({
      code: 'render_failed',
      message: expect.stringContaining(`POST http://127.0.0.1:${port}/v1/completions/render failed`),
    });
  });

  it('validates messages before sending anything', async () => {
    const client = createRenderClient({ baseUrl, model: 'm' });
    const before = requests.length;
    await expect(client.renderChat([{ role: '', content: 'x' }])).rejects.toBeInstanceOf(ValidationError);
    expect(requests.length).toBe(before);
  });

  it('validates its options', () => {
    expect(() => createRenderClient({ baseUrl: 'not a url', model: 'm' })).toThrow(
      expect.objectContaining({ code: 'invalid_config', path: 'baseUrl' }),
    );
    expect(() => createRenderClient({ baseUrl, model: '' })).toThrow(
      expect.objectContaining({ path: 'model' }),
    );
  });
});
