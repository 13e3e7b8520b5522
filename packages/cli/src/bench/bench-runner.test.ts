import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ValidationError } from '@llmd/core';
import { type SimServer, startSimServer } from '@llmd/sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BenchProgress, runBench } from './bench-runner.js';
import { loadQwen3Tokenizer } from './testing-tokenizer.js';
import type { BenchRequest, ChatBenchRequest, Workload } from './workload.js';
import { createWorkload } from './workloads.js';

const model = 'bench-model';
let sim: SimServer;

beforeAll(async () => {
  sim = await startSimServer({ port: 0, model, timeScale: 1000, seed: 2 });
});
afterAll(async () => {
  await sim.close(100);
});

const sharedPrefix = {
  type: 'shared-prefix',
  numGroups: 2,
  promptsPerGroup: 3,
  systemPromptLength: 64,
  questionLength: 8,
  outputLength: 4,
  seed: 5,
} as const;

describe('runBench against the simulator', () => {
  it('runs a shared-prefix workload with Poisson arrivals and counts every request', async () => {
    const progress: BenchProgress[] = [];
    const result = await runBench({
      baseUrl: sim.url,
      model,
      workload: sharedPrefix,
      arrivals: { type: 'poisson', rate: 400, requests: 12, seed: 1 },
      onProgress: (event) => progress.push(event),
    });
    expect(result).toMatchObject({
      baseUrl: sim.url,
      model,
      unit: 'words',
      aborted: false,
      workload: { type: 'shared-prefix', numGroups: 2, promptsPerGroup: 3 },
      arrivals: { type: 'poisson', rate: 400, requests: 12, distribution: 'poisson' },
    });
    expect(result.steps).toHaveLength(1);
    const [step] = result.steps;
    expect(step).toMatchObject({
      index: 0,
      target: { type: 'rate', rate: 400 },
      requests: 12,
      completed: 12,
      failed: 0,
      cancelled: 0,
      unsentArrivals: 0,
      errorsByStatus: {},
      promptTokens: 12 * 72,
      outputTokens: 12 * 4,
    });
    expect(step?.timeToFirstTokenMilliseconds.p50).not.toBeNull();
    expect(step?.interTokenLatencyMilliseconds.p90).not.toBeNull();
    expect(step?.endToEndLatencyMilliseconds.mean).not.toBeNull();
    expect(step?.outputTokensPerSecond).toBeGreaterThan(0);
    expect(step?.requestsPerSecond).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ stepFinished: true, sent: 12, completed: 12, inFlight: 0 });
  });

  it('measures the prefix-cache hit rate from cached_tokens', async () => {
    // One request at a time makes the cache state before each request exact.
    const server = await startSimServer({ port: 0, model, timeScale: 1000 });
    try {
      const result = await runBench({
        baseUrl: server.url,
        model,
        workload: sharedPrefix,
        arrivals: { type: 'concurrency', concurrency: 1, requests: 12 },
      });
      const [step] = result.steps;
      // 72-token prompts hold four full 16-token blocks: the 64-token system prompt. The first
      // prompt of each group misses; every later one hits those four blocks.
      expect(step).toMatchObject({ completed: 12, promptTokens: 864, cachedTokens: 10 * 64 });
      expect(step?.cacheHitRate).toBeCloseTo(640 / 864, 10);
    } finally {
      await server.close(100);
    }
  });

  it('reports one step per rate of a ladder', async () => {
    const result = await runBench({
      baseUrl: sim.url,
      model,
      workload: { type: 'random', promptLength: { min: 5, max: 20 }, outputLength: 3 },
      arrivals: {
        type: 'ladder',
        stages: [
          { rate: 300, requests: 3 },
          { rate: 600, requests: 5 },
        ],
      },
    });
    expect(
      result.steps.map((step) => [step.target, step.requests, step.completed, step.outputTokens]),
    ).toEqual([
      [{ type: 'rate', rate: 300 }, 3, 3, 9],
      [{ type: 'rate', rate: 600 }, 5, 5, 15],
    ]);
  });

  it('keeps a fixed concurrency until the request count is reached', async () => {
    let maximumInFlight = 0;
    const result = await runBench({
      baseUrl: sim.url,
      model,
      workload: { type: 'random', promptLength: 10, outputLength: 2 },
      arrivals: { type: 'concurrency', concurrency: 2, requests: 7 },
      onProgress: (progress) => {
        maximumInFlight = Math.max(maximumInFlight, progress.inFlight);
      },
    });
    expect(result.steps[0]).toMatchObject({
      target: { type: 'concurrency', concurrency: 2 },
      requests: 7,
      completed: 7,
    });
    expect(maximumInFlight).toBe(2);
  });

  it('keeps a fixed concurrency for a duration and lasts at least that long', async () => {
    let maximumInFlight = 0;
    const result = await runBench({
      baseUrl: sim.url,
      model,
      workload: { type: 'random', promptLength: 10, outputLength: 2 },
      arrivals: { type: 'concurrency', concurrency: 3, durationSeconds: 0.2 },
      onProgress: (progress) => {
        maximumInFlight = Math.max(maximumInFlight, progress.inFlight);
      },
    });
    const [step] = result.steps;
    expect(step?.requests).toBeGreaterThanOrEqual(3);
    expect(step?.completed).toBe(step?.requests);
    expect(step?.durationSeconds).toBeGreaterThanOrEqual(0.2);
    expect(maximumInFlight).toBe(3);
  });

  it('sends a multi-turn user its turns one at a time, in order, with the history growing', async () => {
    const inner = createWorkload({ type: 'multi-turn', users: 2, turns: 3, turnLength: 10, outputLength: 3 });
    const inFlightUsers = new Set<string>();
    const sentByUser = new Map<string, ChatBenchRequest[]>();
    let overlaps = 0;
    // Records what the runner does with the real workload.
    const recording: Workload = {
      description: inner.description,
      unit: inner.unit,
      next() {
        const request = inner.next();
        if (request === undefined) return undefined;
        const user = request.userKey as string;
        if (inFlightUsers.has(user)) overlaps++;
        inFlightUsers.add(user);
        sentByUser.set(user, [...(sentByUser.get(user) ?? []), request as ChatBenchRequest]);
        return request;
      },
      complete(request: BenchRequest, completion) {
        inFlightUsers.delete(request.userKey as string);
        inner.complete(request, completion);
      },
    };
    const result = await runBench({
      baseUrl: sim.url,
      model,
      workload: recording,
      arrivals: { type: 'poisson', rate: 2000, requests: 6 },
    });
    expect(result.steps[0]).toMatchObject({ requests: 6, completed: 6, unsentArrivals: 0 });
    expect(overlaps).toBe(0);
    for (const user of ['user-0', 'user-1']) {
      const requests = sentByUser.get(user) ?? [];
      expect(requests.map((request) => request.id)).toEqual(
        [0, 1, 2].map((turn) => `multi-turn-${user.slice(5)}-0-${turn}`),
      );
      expect(requests.map((request) => request.messages.length)).toEqual([1, 3, 5]);
    }
  });

  it('counts a missing model under 404 and an unreachable target under network', async () => {
    const missing = await runBench({
      baseUrl: sim.url,
      model: 'no-such-model',
      workload: sharedPrefix,
      arrivals: { type: 'concurrency', concurrency: 2, requests: 4 },
    });
    expect(missing.steps[0]).toMatchObject({
      requests: 4,
      completed: 0,
      failed: 4,
      errorsByStatus: { '404': 4 },
      cacheHitRate: null,
      outputTokensPerSecond: 0,
      timeToFirstTokenMilliseconds: { mean: null, p50: null, p90: null, p99: null },
    });

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = await runBench({
      baseUrl: `http://127.0.0.1:${port}`,
      model,
      workload: sharedPrefix,
      arrivals: { type: 'poisson', rate: 1000, requests: 3 },
    });
    expect(unreachable.steps[0]).toMatchObject({ requests: 3, failed: 3, errorsByStatus: { network: 3 } });
  });

  it('stops on abort, reporting requests in flight as cancelled', async () => {
    const slow = await startSimServer({ port: 0, model, timeToFirstToken: '60s' });
    try {
      const controller = new AbortController();
      const result = await runBench({
        baseUrl: slow.url,
        model,
        workload: sharedPrefix,
        arrivals: {
          type: 'ladder',
          stages: [
            { rate: 1000, requests: 100 },
            { rate: 1000, requests: 100 },
          ],
        },
        signal: controller.signal,
        onProgress: (progress) => {
          if (progress.inFlight === 3) controller.abort();
        },
      });
      expect(result.aborted).toBe(true);
      expect(result.steps).toHaveLength(1);
      expect(result.steps[0]).toMatchObject({ requests: 3, cancelled: 3, failed: 0, completed: 0 });
    } finally {
      await slow.close(100);
    }
  });

  it('builds prompts of exact token counts from the model tokenizer', async () => {
    const tokenizer = await loadQwen3Tokenizer();
    const server = await startSimServer({ port: 0, model, timeScale: 1000 }, { tokenizer });
    try {
      const workload = {
        type: 'random',
        promptLength: { min: 20, max: 200 },
        outputLength: 2,
        seed: 8,
      } as const;
      const result = await runBench({
        baseUrl: server.url,
        model,
        tokenizer,
        workload,
        arrivals: { type: 'poisson', rate: 500, requests: 8 },
      });
      const expected = createWorkload(workload, { tokenizer });
      let promptTokens = 0;
      for (let index = 0; index < 8; index++) promptTokens += (expected.next() as BenchRequest).promptTokens;
      expect(result.unit).toBe('tokens');
      // The simulator reports the prompt tokens it counted with the same tokenizer.
      expect(result.steps[0]).toMatchObject({ completed: 8, promptTokens });
    } finally {
      await server.close(100);
    }
  });

  it('rejects invalid options naming the field', async () => {
    await expect(
      runBench({
        baseUrl: 'not a url',
        model,
        workload: sharedPrefix,
        arrivals: { type: 'poisson', rate: 1, requests: 1 },
      }),
    ).rejects.toThrow(/bench options baseUrl/);
    await expect(
      runBench({ baseUrl: sim.url, model, workload: sharedPrefix, arrivals: { type: 'poisson', rate: 1 } }),
    ).rejects.toThrow(ValidationError);
  });
});
