/**
 * kv-index benchmarks (`pnpm bench`, or `node --conditions=@llmd/source --import tsx bench/kv-index-bench.ts`
 * in packages/kv-index): event ingestion rate, warm lookup latency at 100 endpoints, memory per block.
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createBlockHasher, type KvEvent } from '@llmd/core';
import { encodeKvEventBatch } from '@llmd/sim';
import { decodeKvEventBatch } from '../src/events/index.js';
import { InMemoryKvIndexBackend } from '../src/index/in-memory-kv-index-backend.js';
import { KvIndex } from '../src/ingest/kv-index.js';

const blockSize = 16;
const model = 'bench-model';

function pseudoRandomTokens(count: number, seed: number): number[] {
  let state = seed >>> 0;
  return Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % 151_936;
  });
}

function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

console.log(`kv-index benchmarks, ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`);

// 1. Ingestion: msgpack batches decoded and indexed, as the subscriber feeds them.
{
  const engineHasher = createBlockHasher({ algorithm: 'sha256_cbor', blockSize, seed: '0' });
  const payloads: Uint8Array[] = [];
  let hashCount = 0;
  for (let sequence = 0; sequence < 400; sequence++) {
    const events: KvEvent[] = [];
    for (let request = 0; request < 8; request++) {
      const tokens = pseudoRandomTokens(blockSize * 64, sequence * 100 + request);
      const hashes = engineHasher.hash(tokens);
      hashCount += hashes.length;
      events.push({
        type: 'BlockStored',
        blockHashes: hashes,
        parentBlockHash: null,
        tokenIds: tokens,
        blockSize,
        loraId: null,
        medium: 'GPU',
        loraName: null,
      });
    }
    payloads.push(
      encodeKvEventBatch({ timestamp: Date.now() / 1000, events, dataParallelRank: 0 }, { format: 'array' }),
    );
  }
  for (const [requestKeyAlgorithm, initialCapacity] of [
    ['cbor-fnv', 4096],
    ['cbor-fnv', 1 << 20],
    ['xxh64', 1 << 20],
  ] as const) {
    const ingestAll = async (index: KvIndex) => {
      for (let position = 0; position < payloads.length; position++) {
        const { batch } = decodeKvEventBatch(payloads[position] as Uint8Array);
        await index.ingest({ endpointKey: `10.0.${position % 100}.1:8000`, modelName: model, batch });
      }
    };
    // Warm-up pass on a throw-away index, so the measured pass runs JIT-compiled code.
    await ingestAll(new KvIndex({ backend: new InMemoryKvIndexBackend(), blockSize, requestKeyAlgorithm }));
    // A long-running index has grown its tables already; `initialCapacity` sizes them up front.
    const index = new KvIndex({
      backend: new InMemoryKvIndexBackend({ initialCapacity }),
      blockSize,
      requestKeyAlgorithm,
    });
    const started = performance.now();
    await ingestAll(index);
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `ingestion (${requestKeyAlgorithm} request keys, tables initially sized for ${initialCapacity.toLocaleString('en')} blocks): ${hashCount.toLocaleString('en')} BlockStored hashes decoded and indexed in ${seconds.toFixed(3)} s = ${Math.round(hashCount / seconds).toLocaleString('en')} hashes/s (target >= 1,000,000/s)`,
    );
  }
}

// 2. Lookup: a 100,000-token prompt (6,250 blocks) against 100 endpoints on a warm index.
for (const scenario of ['typical', 'adversarial'] as const) {
  const backend = new InMemoryKvIndexBackend();
  const index = new KvIndex({ backend, blockSize });
  const prompt = pseudoRandomTokens(100_000, 42);
  const requestKeys = index.requestHasher(model).hashPacked(prompt);
  for (let endpoint = 0; endpoint < 100; endpoint++) {
    // typical: 3 endpoints hold the whole prompt, the others unrelated blocks.
    // adversarial: every endpoint holds a different-length prefix, so candidates stay active deep into the walk.
    const held =
      scenario === 'typical'
        ? endpoint < 3
          ? requestKeys.length
          : 0
        : Math.floor((requestKeys.length * (endpoint + 1)) / 100);
    const holder = { endpointKey: `10.0.${endpoint}.1:8000`, dataParallelRank: 0, groupIdx: 0 };
    // Stored as engines report them: one event per 64 blocks.
    for (let start = 0; start < held; start += 64) {
      const eventKeys = Array.from(requestKeys.subarray(start, Math.min(held, start + 64)));
      await backend.storeBlocks({ holder, tier: 'gpu', requestKeys: eventKeys, engineKeys: eventKeys });
    }
    const other = index.requestHasher(model).hash(pseudoRandomTokens(16 * 500, endpoint + 1000));
    await backend.storeBlocks({ holder, tier: 'gpu', requestKeys: other, engineKeys: other });
  }
  const walk: number[] = [];
  for (let round = 0; round < 300; round++) {
    const started = performance.now();
    backend.scoreNow(requestKeys);
    walk.push(performance.now() - started);
  }
  const endToEnd: number[] = [];
  for (let round = 0; round < 50; round++) {
    const started = performance.now();
    await index.scoreTokens(prompt, model);
    endToEnd.push(performance.now() - started);
  }
  const scored = backend.scoreNow(requestKeys).scores.size;
  console.log(
    `lookup (${scenario}: ${scenario === 'typical' ? '3 of 100 endpoints hold the prompt' : 'all 100 endpoints hold staggered prefixes'}): 100,000-token prompt (${requestKeys.length} blocks), warm index: walk p50 ${percentile(walk, 0.5).toFixed(3)} ms, p99 ${percentile(walk, 0.99).toFixed(3)} ms (target p50 <= 1 ms); with request keys computed from the tokens (cbor-fnv) p50 ${percentile(endToEnd, 0.5).toFixed(2)} ms; ${scored} endpoints scored`,
  );
}

// 3. Memory per indexed block.
{
  const backend = new InMemoryKvIndexBackend();
  const blocks = 1_000_000;
  const heapBefore = process.memoryUsage();
  const holder = { endpointKey: '10.0.0.1:8000', dataParallelRank: 0, groupIdx: 0 };
  const chunk = 10_000;
  for (let offset = 0; offset < blocks; offset += chunk) {
    const requestKeys = Array.from(
      { length: chunk },
      (_, index) => (BigInt(offset + index) * 0x9e3779b97f4a7c15n) & 0xffff_ffff_ffff_ffffn,
    );
    const engineKeys = requestKeys.map((key) => key ^ 0x5555_5555_5555_5555n);
    backend.storeBlocksNow({ holder, tier: 'gpu', requestKeys, engineKeys });
  }
  const heapAfter = process.memoryUsage();
  const measured =
    heapAfter.heapUsed + heapAfter.arrayBuffers - heapBefore.heapUsed - heapBefore.arrayBuffers;
  console.log(
    `memory: ${blocks.toLocaleString('en')} blocks on one endpoint (request key + engine key map): ${(backend.byteSize / blocks).toFixed(1)} bytes/block in the index tables (${(measured / blocks).toFixed(1)} bytes/block measured from heap + array buffers) (target <= 100)`,
  );
}
