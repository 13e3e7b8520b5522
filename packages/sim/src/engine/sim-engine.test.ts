import { performance } from 'node:perf_hooks';
import type { KvEvent } from '@llmd/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineRequestInput, EngineRequestResult } from './engine-request.js';
import type { LatencyProfile } from './latency-model.js';
import { SimEngine, SimEngineClosedError, type SimEngineOptions } from './sim-engine.js';

const latency: LatencyProfile = {
  calculator: 'per-token',
  timeToFirstTokenMilliseconds: 0,
  timeToFirstTokenStandardDeviationMilliseconds: 0,
  prefillOverheadMilliseconds: 5,
  prefillTimePerTokenMilliseconds: 1,
  prefillTimeStandardDeviationMilliseconds: 0,
  interTokenLatencyMilliseconds: 2,
  interTokenLatencyStandardDeviationMilliseconds: 0,
  kvCacheTransferLatencyMilliseconds: 0,
  kvCacheTransferLatencyStandardDeviationMilliseconds: 0,
  kvCacheTransferTimePerTokenMilliseconds: 0.1,
  kvCacheTransferTimeStandardDeviationMilliseconds: 0,
  timeFactorUnderLoad: 1,
};

const engines: SimEngine[] = [];
afterEach(() => {
  for (const engine of engines.splice(0)) engine.close();
});

function createEngine(overrides: Partial<SimEngineOptions> = {}) {
  const batches: KvEvent[][] = [];
  const errors: unknown[] = [];
  const engine = new SimEngine({
    blockSize: 4,
    numberOfGpuBlocks: 64,
    numberOfCpuBlocks: 0,
    maximumNumberOfSequences: 4,
    maximumWaitingQueueLength: 100,
    maximumLoras: 1,
    hashAlgorithm: 'sha256_cbor',
    hashSeed: '0',
    latency,
    // 100x faster than real time keeps the suite quick; assertions never depend on wall time.
    timeScale: 100,
    seed: 1,
    remoteBlockTimeoutMilliseconds: 480_000,
    onKvEvents: (events) => batches.push(events),
    onError: (error) => errors.push(error),
    ...overrides,
  });
  engines.push(engine);
  return { engine, batches, errors };
}

function request(
  prompt: number[],
  output = [900, 901, 902],
  overrides: Partial<EngineRequestInput> = {},
): EngineRequestInput {
  return {
    requestId: `r-${Math.random()}`,
    promptTokenIds: prompt,
    outputTokenIds: output,
    finishReason: 'length',
    loraName: null,
    cacheSalt: null,
    disaggregationRole: null,
    kvTransferParams: null,
    ...overrides,
  };
}

function run(
  engine: SimEngine,
  input: EngineRequestInput,
): Promise<{ tokens: number[]; result: EngineRequestResult }> {
  return new Promise((resolve) => {
    const tokens: number[] = [];
    engine.submit(input, {
      onToken: (index) => tokens.push(input.outputTokenIds[index] as number),
      onFinish: (result) => resolve({ tokens, result }),
    });
  });
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, index) => from + index);

describe('SimEngine', () => {
  it('streams the planned tokens and reports usage', async () => {
    const { engine } = createEngine();
    const { tokens, result } = await run(engine, request(range(1, 10)));
    expect(tokens).toEqual([900, 901, 902]);
    expect(result).toMatchObject({
      finishReason: 'length',
      promptTokens: 10,
      completionTokens: 3,
      cachedTokens: 0,
    });
    expect(result.timings.timeToFirstTokenMilliseconds).toBeGreaterThan(0);
  });

  it('reuses the cached prefix of a repeated prompt, except the last block (vLLM recomputes the last token)', async () => {
    const { engine } = createEngine();
    const prompt = range(1, 16); // exactly 4 full blocks
    const first = await run(engine, request(prompt));
    const second = await run(engine, request(prompt));
    expect(first.result.cachedTokens).toBe(0);
    expect(second.result.cachedTokens).toBe(12);
    const longer = await run(engine, request([...prompt, 77, 78]));
    expect(longer.result.cachedTokens).toBe(16);
  });

  it('publishes BlockStored events with vLLM hashes, chained parents and decode blocks', async () => {
    const { engine, batches } = createEngine();
    await run(engine, request(range(1, 8), [100, 101, 102, 103, 104]));
    const stored = batches.flat().filter((event) => event.type === 'BlockStored');
    // Prompt: 2 full blocks at prefill; decode fills block 3 with 100..103 (104 is the last, not appended).
    expect(stored.map((event) => event.tokenIds)).toEqual([range(1, 8), [100, 101, 102, 103]]);
    const hasher = engine.hasherFor(null, null);
    const expected = hasher.hash([...range(1, 8), 100, 101, 102, 103]);
    expect(stored[0]).toMatchObject({
      blockHashes: expected.slice(0, 2),
      parentBlockHash: null,
      medium: 'GPU',
      blockSize: 4,
    });
    expect(stored[1]).toMatchObject({ blockHashes: [expected[2]], parentBlockHash: expected[1] });
  });

  it('evicts least recently used free blocks and reports BlockRemoved, never blocks in use', async () => {
    const { engine, batches } = createEngine({ numberOfGpuBlocks: 6 });
    await run(engine, request(range(1, 8), [1]));
    await run(engine, request(range(100, 8), [1]));
    await run(engine, request(range(200, 8), [1]));
    const removed = batches.flat().filter((event) => event.type === 'BlockRemoved');
    expect(removed.length).toBeGreaterThan(0);
    const firstPromptHashes = engine.hasherFor(null, null).hash(range(1, 8));
    expect(removed.flatMap((event) => event.blockHashes)).toContain(firstPromptHashes[0]);
    // The oldest prompt is gone from the cache, the newest still hits.
    expect((await run(engine, request(range(1, 8), [1]))).result.cachedTokens).toBe(0);
  });

  it('keeps evicted blocks in the CPU tier and hits them there', async () => {
    const { engine, batches } = createEngine({ numberOfGpuBlocks: 6, numberOfCpuBlocks: 32 });
    await run(engine, request(range(1, 12), [1]));
    await run(engine, request(range(100, 12), [1]));
    const cpuStored = batches
      .flat()
      .filter((event) => event.type === 'BlockStored' && event.medium === 'CPU');
    expect(cpuStored.length).toBeGreaterThan(0);
    const again = await run(engine, request(range(1, 12), [1]));
    expect(again.result.cachedTokens).toBe(8);
  });

  it('queues requests beyond max-num-seqs and runs them in order', async () => {
    const { engine } = createEngine({ maximumNumberOfSequences: 1 });
    const order: number[] = [];
    const runs = [1, 2, 3].map((number) =>
      run(engine, request(range(number * 100, 4), [number])).then(() => order.push(number)),
    );
    expect(engine.waitingCount + engine.runningCount).toBe(3);
    await Promise.all(runs);
    expect(order).toEqual([1, 2, 3]);
  });

  it('anchors a request admitted on its first pass at its arrival, and a queued one at admission', async () => {
    const { engine } = createEngine({ maximumNumberOfSequences: 1 });
    const arrivedAt = performance.now() - 20; // 20 ms of simulated HTTP overhead before submission
    const first = run(engine, request(range(1, 8), [1, 2], { arrivedAt }));
    const second = run(engine, request(range(100, 8), [1]));
    const [firstResult, secondResult] = await Promise.all([first, second]);
    expect(firstResult.result.timings.queueMilliseconds).toBe(0);
    // The overhead is part of the TTFT the client sees (time scale 100 turns 20 real ms into 2000).
    expect(firstResult.result.timings.timeToFirstTokenMilliseconds).toBeGreaterThanOrEqual(2000);
    expect(secondResult.result.timings.queueMilliseconds).toBeGreaterThan(0);
  });

  it('counts free cached hits against the free pool when admitting (a repeated prompt waits, never crashes)', async () => {
    const { engine, errors } = createEngine({ numberOfGpuBlocks: 4 });
    const prompt = range(1, 8); // 2 full blocks + 1 for decode
    await run(engine, request(prompt, [1]));
    // A long request takes the 2 blocks that are free but not cached; only the 2 cached ones stay free.
    const long = run(engine, request(range(100, 4), range(1, 20)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(engine.runningCount).toBe(1);
    // The repeat hits 1 cached block and needs 2 fresh ones: 3 blocks from a free pool of 2. It must wait.
    const repeat = run(engine, request(prompt, [1]));
    await new Promise((resolve) => setImmediate(resolve));
    expect(engine.waitingCount).toBe(1);
    await long;
    expect((await repeat).result.finishReason).toBe('length');
    expect(errors).toEqual([]);
    expect(engine.pool.usage).toBe(0); // every reference taken was given back
  });

  it('rejects a prompt that needs more blocks than the pool has', () => {
    const { engine } = createEngine({ numberOfGpuBlocks: 2 });
    expect(() => engine.submit(request(range(1, 12)), { onToken() {}, onFinish() {} })).toThrow(
      /needs 4 KV blocks, more than the 2/,
    );
  });

  it('makes a request wait when the pool has no blocks for it', async () => {
    const { engine } = createEngine({ numberOfGpuBlocks: 4 });
    const long = run(engine, request(range(1, 12), range(500, 3)));
    const blocked = run(engine, request(range(100, 8), [1]));
    await new Promise((resolve) => setImmediate(resolve));
    expect(engine.runningCount).toBe(1);
    expect(engine.waitingCount).toBe(1);
    await Promise.all([long, blocked]);
  });

  it('runs only --max-loras adapters at once', async () => {
    const { engine } = createEngine({ maximumLoras: 1 });
    const alice = run(engine, request(range(1, 4), range(1, 5), { loraName: 'alice' }));
    const bob = run(engine, request(range(1, 4), [1], { loraName: 'bob' }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(engine.loraState()).toEqual({ running: ['alice'], waiting: ['bob'] });
    await Promise.all([alice, bob]);
  });

  it('hashes LoRA requests under the adapter name', async () => {
    const { engine, batches } = createEngine();
    await run(engine, request(range(1, 8), [1], { loraName: 'alice' }));
    const stored = batches.flat().find((event) => event.type === 'BlockStored');
    expect(stored).toMatchObject({
      loraName: 'alice',
      blockHashes: engine.hasherFor('alice', null).hash(range(1, 8)),
    });
    expect(engine.hasherFor('alice', null).hash(range(1, 8))).not.toEqual(
      engine.hasherFor(null, null).hash(range(1, 8)),
    );
  });

  it('aborting releases the blocks and stops the stream', async () => {
    const { engine } = createEngine();
    const tokens: number[] = [];
    const result = await new Promise<EngineRequestResult>((resolve) => {
      const handle = engine.submit(request(range(1, 8), range(1, 50)), {
        onToken: (index) => {
          tokens.push(index);
          if (index === 2) handle.abort();
        },
        onFinish: resolve,
      });
    });
    expect(result.finishReason).toBe('abort');
    expect(tokens).toEqual([0, 1, 2]);
    expect(engine.pool.usage).toBe(0);
  });

  it('prefill role emits one token, keeps the blocks for the decoder, then releases them', async () => {
    const { engine } = createEngine();
    const { tokens, result } = await run(
      engine,
      request(range(1, 8), range(1, 10), { disaggregationRole: 'prefill' }),
    );
    expect(tokens).toHaveLength(1);
    expect(result.finishReason).toBe('remote_decode');
    expect(result.remoteBlockIds?.length).toBeGreaterThan(0);
    expect(engine.pool.usage).toBeGreaterThan(0);
    expect(engine.releaseRemoteBlocks('nope')).toBe(false);
  });

  it('pins prefill blocks under an id of its own, so a repeated client request id neither leaks nor steals a pin', async () => {
    const { engine } = createEngine();
    const prefill = (prompt: number[]) =>
      run(engine, request(prompt, [1], { requestId: 'repeated', disaggregationRole: 'prefill' }));
    const first = (await prefill(range(1, 8))).result;
    const second = (await prefill(range(100, 8))).result;
    expect(first.remoteRequestId).toEqual(expect.any(String));
    expect(second.remoteRequestId).toEqual(expect.any(String));
    expect(second.remoteRequestId).not.toBe(first.remoteRequestId);
    expect(engine.releaseRemoteBlocks('repeated')).toBe(false);
    expect(engine.releaseRemoteBlocks(first.remoteRequestId as string)).toBe(true);
    // The second request's blocks stay pinned for its decoder.
    expect(engine.pool.usage).toBeGreaterThan(0);
    expect(engine.releaseRemoteBlocks(first.remoteRequestId as string)).toBe(false);
    expect(engine.releaseRemoteBlocks(second.remoteRequestId as string)).toBe(true);
    // Both pins are gone: nothing leaked.
    expect(engine.pool.usage).toBe(0);
  });

  it('rejects submissions after close with a typed error (the server answers 503)', () => {
    const { engine } = createEngine();
    engine.close();
    expect(() => engine.submit(request(range(1, 4)), { onToken() {}, onFinish() {} })).toThrow(
      SimEngineClosedError,
    );
  });

  it('reset clears the cache and reports AllBlocksCleared', async () => {
    const { engine, batches } = createEngine();
    await run(engine, request(range(1, 8)));
    expect(engine.resetPrefixCache()).toBe(true);
    expect(batches.flat().at(-1)).toEqual({ type: 'AllBlocksCleared' });
    expect((await run(engine, request(range(1, 8)))).result.cachedTokens).toBe(0);
  });
});
