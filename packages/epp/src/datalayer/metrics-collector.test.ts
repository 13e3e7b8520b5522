/**
 * MetricsCollector against real HTTP servers: simulated vLLM pods from @llmd/sim, and plain node:http
 * servers serving SGLang / trtllm-serve expositions or misbehaving on purpose.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEndpoint, type Endpoint } from '@llmd/core';
import { type SimCluster, startSimCluster } from '@llmd/sim';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Datastore } from './datastore.js';
import { MetricsCollector } from './metrics-collector.js';
import { createRecordingLogger } from './recording-logger.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A plain HTTP server whose behaviour a test can swap; counts requests and their concurrency. */
async function startMetricsServer(initial: Handler) {
  let handler = initial;
  const state = { requests: 0, active: 0, maximumActive: 0 };
  const server: Server = createServer((request, response) => {
    state.requests++;
    state.active++;
    state.maximumActive = Math.max(state.maximumActive, state.active);
    response.on('close', () => state.active--);
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    state,
    port: (server.address() as AddressInfo).port,
    setHandler(next: Handler) {
      handler = next;
    },
  };
}

const serve =
  (body: string, status = 200): Handler =>
  (_request, response) => {
    response.writeHead(status, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(body);
  };

function localEndpoint(port: number, labels: Record<string, string> = {}, name?: string): Endpoint {
  return createEndpoint({ address: '127.0.0.1', port, labels, ...(name ? { name } : {}) });
}

function startCollector(
  datastore: Datastore,
  options: Partial<ConstructorParameters<typeof MetricsCollector>[0]> = {},
) {
  const collector = new MetricsCollector({ datastore, ...options });
  cleanups.push(() => collector.stop());
  return collector;
}

const sglangExposition = [
  '# HELP sglang:num_queue_reqs The number of requests in the waiting queue',
  '# TYPE sglang:num_queue_reqs gauge',
  'sglang:num_queue_reqs{model_name="qwen"} 5.0',
  'sglang:num_running_reqs{model_name="qwen"} 9.0',
  'sglang:token_usage{model_name="qwen"} 0.61',
  'sglang:cache_config_info{page_size="1",num_pages="250000"} 1.0',
  'sglang:gen_throughput{model_name="qwen"} 1234.5',
].join('\n');

const trtllmExposition = [
  '# TYPE trtllm_num_requests_waiting gauge',
  'trtllm_num_requests_waiting{model_name="qwen",engine_type="trtllm"} 2',
  'trtllm_num_requests_running{model_name="qwen",engine_type="trtllm"} 6',
  'trtllm_kv_cache_utilization{model_name="qwen",engine_type="trtllm"} 0.33',
  'trtllm_kv_cache_tokens_per_block{model_name="qwen"} 32',
  'trtllm_kv_cache_max_blocks{model_name="qwen"} 8192',
].join('\n');

describe('MetricsCollector against simulated vLLM pods', () => {
  it('picks up queue, running, KV usage and cache config from the simulator', async () => {
    const cluster: SimCluster = await startSimCluster({
      replicas: 2,
      config: {
        model: 'sim-model',
        blockSize: 32,
        numGpuBlocks: 1000,
        maxModelLen: 4096,
        maxNumSeqs: 1,
        interTokenLatency: 10,
      },
    });
    cleanups.push(() => cluster.close(0));
    const datastore = new Datastore();
    const [busy, idle] = cluster.endpoints.map((key, index) => {
      const [address, port] = key.split(':') as [string, string];
      return createEndpoint({ address, port: Number(port), name: `sim-${index}` });
    }) as [Endpoint, Endpoint];
    datastore.replaceAll([busy, idle]);
    const collector = startCollector(datastore);
    await collector.start();

    // One running, two waiting: the simulator runs one sequence at a time here.
    const abort = new AbortController();
    cleanups.push(async () => abort.abort());
    for (let index = 0; index < 3; index++) {
      fetch(`http://${busy.key}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'sim-model',
          prompt: `request ${index} keeps the engine busy`,
          max_tokens: 400,
          ignore_eos: true,
        }),
        signal: abort.signal,
      }).then(
        (response) => response.body?.cancel(),
        () => {},
      );
    }

    await vi.waitFor(
      () => {
        const metrics = datastore.get(busy.key)?.metrics;
        expect(metrics?.waitingQueueSize).toBe(2);
        expect(metrics?.runningRequestsSize).toBe(1);
        expect(metrics?.kvCacheUsagePercent).toBeGreaterThan(0);
      },
      { timeout: 3000 },
    );
    const busyMetrics = datastore.get(busy.key)?.metrics;
    expect(busyMetrics?.cacheBlockSize).toBe(32);
    expect(busyMetrics?.cacheNumBlocks).toBe(1000);
    expect(busyMetrics?.maxActiveModels).toBe(1);
    expect(busyMetrics?.activeModels).toEqual([]);
    expect(busyMetrics?.updateTime).toBeGreaterThan(0);

    const idleMetrics = datastore.get(idle.key)?.metrics;
    expect(idleMetrics).toMatchObject({
      waitingQueueSize: 0,
      runningRequestsSize: 0,
      kvCacheUsagePercent: 0,
      cacheBlockSize: 32,
    });
    const stats = collector.stats();
    expect(stats.endpoints).toBe(2);
    expect(stats.failures).toBe(0);
    expect(stats.missingMetrics).toBe(0);
    expect(stats.perEndpoint.get(busy.key)?.successes).toBeGreaterThan(0);
  });
});

describe('MetricsCollector', () => {
  it('maps SGLang and trtllm-serve expositions by engine label, and serves a custom path', async () => {
    const sglang = await startMetricsServer(serve(sglangExposition));
    const trtllm = await startMetricsServer((request, response) => {
      if (request.url !== '/prometheus/metrics') {
        response.writeHead(404).end();
        return;
      }
      serve(trtllmExposition)(request, response);
    });
    const datastore = new Datastore();
    datastore.replaceAll([
      localEndpoint(sglang.port, { 'llm-d.ai/engine-type': 'sglang' }),
      localEndpoint(trtllm.port, { 'llm-d.ai/engine-type': 'trtllm' }),
    ]);
    const trtllmDatastore = new Datastore();
    trtllmDatastore.replaceAll([localEndpoint(trtllm.port, { 'llm-d.ai/engine-type': 'trtllm' })]);

    await startCollector(datastore).start();
    await startCollector(trtllmDatastore, { path: '/prometheus/metrics' }).start();

    await vi.waitFor(() => {
      expect(datastore.get(`127.0.0.1:${sglang.port}`)?.metrics).toMatchObject({
        waitingQueueSize: 5,
        runningRequestsSize: 9,
        kvCacheUsagePercent: 0.61,
        cacheBlockSize: 1,
        cacheNumBlocks: 250000,
      });
      expect(trtllmDatastore.get(`127.0.0.1:${trtllm.port}`)?.metrics).toMatchObject({
        waitingQueueSize: 2,
        runningRequestsSize: 6,
        kvCacheUsagePercent: 0.33,
        cacheBlockSize: 32,
        cacheNumBlocks: 8192,
      });
    });
    // On the default path trtllm-serve answers 404: counted as failures, metrics stay empty.
    expect(datastore.get(`127.0.0.1:${trtllm.port}`)?.metrics.updateTime).toBe(0);
  });

  it('keeps the last metrics on failure, counts errors, and recovers', async () => {
    const server = await startMetricsServer(
      serve('vllm:num_requests_waiting 3\nvllm:num_requests_running 1\nvllm:kv_cache_usage_perc 0.2\n'),
    );
    const datastore = new Datastore();
    const key = `127.0.0.1:${server.port}`;
    datastore.upsert(localEndpoint(server.port));
    const logger = createRecordingLogger();
    let clock = 1_000;
    const collector = startCollector(datastore, { logger, now: () => clock });
    await collector.start();
    await vi.waitFor(() => expect(datastore.get(key)?.metrics.waitingQueueSize).toBe(3));
    expect(datastore.get(key)?.metrics.updateTime).toBe(1_000);

    server.setHandler(serve('internal error', 500));
    await vi.waitFor(() =>
      expect(collector.stats().perEndpoint.get(key)?.consecutiveFailures).toBeGreaterThanOrEqual(3),
    );
    expect(datastore.get(key)?.metrics).toMatchObject({ waitingQueueSize: 3, updateTime: 1_000 });
    expect(collector.stats().perEndpoint.get(key)?.lastError).toBe('metrics endpoint answered HTTP 500');
    expect(
      logger.messages('warn').filter((message) => message.startsWith('metrics scraping failed')),
    ).toHaveLength(1);

    // Only now: a poll already on the wire when the handler changed may have succeeded after it.
    clock = 2_000;
    server.setHandler(
      serve('vllm:num_requests_waiting 8\nvllm:num_requests_running 1\nvllm:kv_cache_usage_perc 0.2\n'),
    );
    await vi.waitFor(() =>
      expect(datastore.get(key)?.metrics).toMatchObject({ waitingQueueSize: 8, updateTime: 2_000 }),
    );
    expect(collector.stats().perEndpoint.get(key)?.consecutiveFailures).toBe(0);
    expect(logger.messages('info')).toContain('metrics scraping recovered');
  });

  it('times out a hanging endpoint and keeps trying it', async () => {
    // Never answers; the cleanup closes the connections.
    const server = await startMetricsServer(() => {});
    const datastore = new Datastore();
    datastore.upsert(localEndpoint(server.port));
    const collector = startCollector(datastore, { timeoutMilliseconds: 120 });
    await collector.start();
    await vi.waitFor(() => expect(collector.stats().timeouts).toBeGreaterThanOrEqual(2), { timeout: 3000 });
    expect(server.state.requests).toBeGreaterThanOrEqual(2);
    expect(collector.stats().perEndpoint.get(`127.0.0.1:${server.port}`)?.lastError).toMatch(
      /no response within 120 ms/,
    );
  });

  it('never overlaps polls to one endpoint when responses are slower than the interval', async () => {
    const server = await startMetricsServer((_request, response) => {
      setTimeout(() => serve('vllm:num_requests_waiting 1\n')(_request, response), 130);
    });
    const datastore = new Datastore();
    datastore.upsert(localEndpoint(server.port));
    const collector = startCollector(datastore);
    await collector.start();
    await vi.waitFor(() => expect(server.state.requests).toBeGreaterThanOrEqual(4), { timeout: 3000 });
    expect(server.state.maximumActive).toBe(1);
    expect(collector.stats().failures).toBe(0);
  });

  it('polls an endpoint as soon as it joins, not one interval later', async () => {
    const server = await startMetricsServer(serve('vllm:num_requests_waiting 1\n'));
    const datastore = new Datastore();
    // An interval far longer than the test: any poll seen comes from the endpoint's arrival.
    const collector = startCollector(datastore, { refreshIntervalMilliseconds: 60_000 });
    await collector.start();
    expect(collector.stats().endpoints).toBe(0);
    datastore.upsert(localEndpoint(server.port));
    await vi.waitFor(() =>
      expect(datastore.get(`127.0.0.1:${server.port}`)?.metrics.waitingQueueSize).toBe(1),
    );
    expect(server.state.requests).toBe(1);
  });

  it('stops polling endpoints that leave and keeps polling the others', async () => {
    const first = await startMetricsServer(serve('vllm:num_requests_waiting 1\n'));
    const second = await startMetricsServer(serve('vllm:num_requests_waiting 2\n'));
    const datastore = new Datastore();
    datastore.replaceAll([localEndpoint(first.port), localEndpoint(second.port)]);
    const collector = startCollector(datastore);
    await collector.start();
    await vi.waitFor(() =>
      expect(datastore.get(`127.0.0.1:${second.port}`)?.metrics.waitingQueueSize).toBe(2),
    );

    datastore.remove(`127.0.0.1:${first.port}`);
    expect(collector.stats().endpoints).toBe(1);
    await vi.waitFor(() => expect(collector.stats().inFlight).toBeLessThanOrEqual(1));
    const firstRequests = first.state.requests;
    const secondRequests = second.state.requests;
    await new Promise((resolve) => setTimeout(resolve, 250));
    // At most one poll was already on the wire when the endpoint left.
    expect(first.state.requests).toBeLessThanOrEqual(firstRequests + 1);
    expect(second.state.requests).toBeGreaterThan(secondRequests);
    // A removed endpoint is not brought back by a late scrape.
    expect(datastore.get(`127.0.0.1:${first.port}`)).toBeUndefined();
  });

  it('polls at the configured interval and stops polling on stop', async () => {
    const server = await startMetricsServer(serve('vllm:num_requests_waiting 1\n'));
    const datastore = new Datastore();
    datastore.upsert(localEndpoint(server.port));
    const collector = new MetricsCollector({ datastore, refreshIntervalMilliseconds: 100 });
    await collector.start();
    await new Promise((resolve) => setTimeout(resolve, 520));
    await collector.stop();
    const requests = server.state.requests;
    // One at start plus one per 100 ms tick; timers may run late on a loaded machine, never early.
    expect(requests).toBeGreaterThanOrEqual(3);
    expect(requests).toBeLessThanOrEqual(7);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(server.state.requests).toBe(requests);
    expect(collector.running).toBe(false);
  });

  it('reports a metric its engine mapping expects but the server lacks', async () => {
    const server = await startMetricsServer(serve('vllm:num_requests_waiting 1\n'));
    const datastore = new Datastore();
    datastore.upsert(localEndpoint(server.port));
    const logger = createRecordingLogger();
    const collector = startCollector(datastore, { logger });
    await collector.start();
    await vi.waitFor(() => expect(collector.stats().missingMetrics).toBeGreaterThanOrEqual(2));
    expect(datastore.get(`127.0.0.1:${server.port}`)?.metrics.waitingQueueSize).toBe(1);
    expect(logger.messages('warn')).toEqual([
      'model server does not expose metrics its engine mapping expects',
    ]);
  });

  it('refuses an interval under 50 ms and a relative path', () => {
    const datastore = new Datastore();
    expect(() => new MetricsCollector({ datastore, refreshIntervalMilliseconds: 10 })).toThrow(/at least 50/);
    expect(() => new MetricsCollector({ datastore, path: 'metrics' })).toThrow(/must start with/);
    expect(() => new MetricsCollector({ datastore, timeoutMilliseconds: 0 })).toThrow(/positive/);
  });
});
