import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { chatMessageSchema, describeFirstIssue, type Logger, noopLogger, type Tokenizer } from '@llmd/core';
import { z } from 'zod';
import type { KvIndexBackend } from '../index/kv-index-backend.js';
import type { KvIndex } from '../ingest/kv-index.js';
import { KvIndexMetrics, type SubscriberCounters } from './kv-index-metrics.js';

const tokenIdSchema = z.number().int().min(0).max(0xffffffff);

const scoreRequestSchema = z
  .object({
    model: z.string().min(1),
    tokens: z.array(tokenIdSchema).optional(),
    prompt: z.string().optional(),
    messages: z.array(chatMessageSchema).min(1).optional(),
    endpoints: z.array(z.string().min(1)).optional(),
  })
  .strict()
  .refine(
    (body) => [body.tokens, body.prompt, body.messages].filter((value) => value !== undefined).length === 1,
    {
      message: 'send exactly one of "tokens", "prompt" or "messages"',
    },
  );

/** What the service shows per endpoint besides its blocks (from the event subscriber). */
export interface EndpointStreamState {
  lastSequence: number | null;
  state: string;
  lastEventAt: number | null;
}

export interface KvIndexServiceOptions {
  index: KvIndex;
  backend: KvIndexBackend;
  /** Needed for `prompt` / `messages` requests; `tokens` work without one. */
  tokenizer?: Tokenizer;
  host?: string;
  httpPort: number;
  /** gRPC `indexer.v1.IndexerService`; off when undefined. */
  grpcPort?: number;
  subscriberCounters?: () => SubscriberCounters;
  endpointStreams?: () => ReadonlyMap<string, EndpointStreamState>;
  /** Upper bound on request bodies (default 16 MiB: a 1M-token array). */
  maximumBodyBytes?: number;
  logger?: Logger;
}

export interface KvIndexService {
  readonly httpUrl: string;
  readonly grpcPort: number | undefined;
  readonly metrics: KvIndexMetrics;
  close(): Promise<void>;
}

class BadRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

async function readJson(request: IncomingMessage, maximumBytes: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maximumBytes) {
      request.resume();
      throw new BadRequest(413, `request body exceeds ${maximumBytes} bytes`);
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new BadRequest(400, `request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** `llmd index`'s servers: HTTP scoring and inspection, Prometheus metrics, and llm-d's gRPC API. */
export async function startKvIndexService(options: KvIndexServiceOptions): Promise<KvIndexService> {
  const logger = options.logger ?? noopLogger;
  const host = options.host ?? '127.0.0.1';
  const maximumBodyBytes = options.maximumBodyBytes ?? 16 * 1024 * 1024;
  const subscriberCounters =
    options.subscriberCounters ??
    (() => ({
      batches: 0,
      events: 0,
      gaps: 0,
      replays: 0,
      restarts: 0,
      malformed: 0,
      unknownEventTags: 0,
      droppedBatches: 0,
      uncertainties: 0,
      handlerErrors: 0,
    }));
  const metrics = new KvIndexMetrics(options.index, subscriberCounters, options.backend);

  const tokensFor = (body: z.output<typeof scoreRequestSchema>): number[] => {
    if (body.tokens) return body.tokens;
    const tokenizer = options.tokenizer;
    if (!tokenizer) throw new BadRequest(400, 'this index has no tokenizer (--tokenizer): send "tokens"');
    if (body.prompt !== undefined) return tokenizer.encode(body.prompt);
    try {
      const rendered = tokenizer.applyChatTemplate(body.messages ?? [], { addGenerationPrompt: true });
      return tokenizer.encode(rendered, { addSpecialTokens: false });
    } catch (error) {
      throw new BadRequest(400, (error as Error).message);
    }
  };

  const score = async (tokens: ArrayLike<number>, model: string, candidates?: ReadonlyArray<string>) => {
    const started = performance.now();
    const result = await options.index.scoreTokens(tokens, model, candidates ? { candidates } : {});
    metrics.lookups.inc();
    metrics.lookupLatency.observe((performance.now() - started) / 1000);
    return result;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?', 1)[0];
    if (request.method === 'GET' && path === '/health') return send(response, 200, { status: 'ok' });
    if (request.method === 'GET' && path === '/metrics') {
      const text = await metrics.registry.metrics();
      response.writeHead(200, { 'content-type': metrics.registry.contentType });
      response.end(text);
      return;
    }
    if (request.method === 'GET' && path === '/v1/endpoints') {
      const streams = options.endpointStreams?.() ?? new Map<string, EndpointStreamState>();
      const stats = await options.backend.endpointStats();
      const keys = new Set([...stats.map((entry) => entry.endpointKey), ...streams.keys()]);
      const blocks = new Map(stats.map((entry) => [entry.endpointKey, entry.blocksByTier]));
      const endpoints = [...keys].sort().map((endpointKey) => ({
        endpoint: endpointKey,
        blocks: blocks.get(endpointKey) ?? {},
        lastSequence: streams.get(endpointKey)?.lastSequence ?? null,
        state: streams.get(endpointKey)?.state ?? 'unknown',
        lastEventAt: streams.get(endpointKey)?.lastEventAt ?? null,
      }));
      return send(response, 200, { endpoints });
    }
    if (path === '/v1/score') {
      if (request.method !== 'POST') throw new BadRequest(405, 'use POST /v1/score');
      const parsed = scoreRequestSchema.safeParse(await readJson(request, maximumBodyBytes));
      if (!parsed.success) throw new BadRequest(400, describeFirstIssue(parsed.error.issues));
      const result = await score(tokensFor(parsed.data), parsed.data.model, parsed.data.endpoints);
      return send(response, 200, result);
    }
    throw new BadRequest(404, `no route for ${request.method} ${path}`);
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (error instanceof BadRequest)
        return send(response, error.status, { error: { message: error.message, code: error.status } });
      logger.error({ error: error instanceof Error ? error.message : String(error) }, 'index request failed');
      send(response, 500, { error: { message: 'internal error', code: 500 } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.httpPort, host, () => resolve());
  });
  const httpPort = (server.address() as AddressInfo).port;

  let grpcServer: grpc.Server | undefined;
  let grpcPort: number | undefined;
  if (options.grpcPort !== undefined) {
    // The proto ships in the package's proto/ folder: one level up from dist/, two from src/service/.
    const here = dirname(fileURLToPath(import.meta.url));
    const protoPath = [
      join(here, '..', 'proto', 'indexer.proto'),
      join(here, '..', '..', 'proto', 'indexer.proto'),
    ].find((path) => existsSync(path)) as string;
    const definition = protoLoader.loadSync(protoPath, {
      keepCase: true,
      longs: Number,
      defaults: true,
      oneofs: true,
    });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      indexer: { v1: { IndexerService: grpc.ServiceClientConstructor } };
    };
    grpcServer = new grpc.Server();
    grpcServer.addService(loaded.indexer.v1.IndexerService.service, {
      GetPodScores: (
        call: grpc.ServerUnaryCall<
          { prompt: string; model_name: string; pod_identifiers: string[] },
          unknown
        >,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        const { prompt, model_name: modelName, pod_identifiers: pods } = call.request;
        if (!modelName)
          return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'model_name is required' });
        if (!options.tokenizer)
          return callback({
            code: grpc.status.FAILED_PRECONDITION,
            details: 'this index has no tokenizer (--tokenizer)',
          });
        score(options.tokenizer.encode(prompt), modelName, pods.length > 0 ? pods : undefined).then(
          (result) =>
            callback(null, {
              scores: Object.entries(result.scores).map(([pod, value]) => ({ pod, score: value })),
            }),
          (error: unknown) => callback({ code: grpc.status.INTERNAL, details: (error as Error).message }),
        );
      },
    });
    grpcPort = await new Promise<number>((resolve, reject) => {
      (grpcServer as grpc.Server).bindAsync(
        `${host}:${options.grpcPort}`,
        grpc.ServerCredentials.createInsecure(),
        (error, port) => (error ? reject(error) : resolve(port)),
      );
    });
  }

  return {
    httpUrl: `http://${host}:${httpPort}`,
    grpcPort,
    metrics,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (grpcServer)
        await new Promise<void>((resolve) => (grpcServer as grpc.Server).tryShutdown(() => resolve()));
    },
  };
}
