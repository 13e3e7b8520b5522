/**
 * Block-hashing throughput per algorithm, on one core (JavaScript runs the hashing loop on the
 * main thread). Run: `pnpm bench` from the repository root, or
 * `node --conditions=@llmd/source --import tsx bench/hashing-bench.ts` in packages/core.
 */
import { cpus } from 'node:os';
import { createBlockHasher, type HashAlgorithm, hashAlgorithms } from '../src/index.js';

const blockSize = 16;
const tokenCount = 400_000;
const rounds = 7;

function pseudoRandomTokens(count: number, seed: number): number[] {
  let state = seed >>> 0;
  const tokens = new Array<number>(count);
  for (let index = 0; index < count; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    tokens[index] = state % 151_936;
  }
  return tokens;
}

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function optionsFor(algorithm: HashAlgorithm) {
  return algorithm === 'cbor-fnv' || algorithm === 'xxh64'
    ? { algorithm, blockSize, modelName: 'Qwen/Qwen3-0.6B' }
    : { algorithm, blockSize, seed: '42' };
}

const tokens = pseudoRandomTokens(tokenCount, 7);
const targets: Partial<Record<HashAlgorithm, number>> = { sha256_cbor: 2_000_000 };
const results: Array<{ algorithm: HashAlgorithm; tokensPerSecond: number }> = [];

for (const algorithm of hashAlgorithms) {
  const hasher = createBlockHasher(optionsFor(algorithm));
  hasher.hash(tokens.slice(0, 50_000)); // warm-up: JIT and native bindings
  const durations: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = process.hrtime.bigint();
    hasher.hash(tokens);
    durations.push(Number(process.hrtime.bigint() - started) / 1e9);
  }
  results.push({ algorithm, tokensPerSecond: tokenCount / median(durations) });
}

// Incremental reuse: a 7,200-token prompt whose first 6,000 tokens were hashed for an earlier prompt.
const reuseHasher = createBlockHasher(optionsFor('sha256_cbor'));
const systemPrompt = pseudoRandomTokens(6_000, 11);
const questions = Array.from({ length: 50 }, (_, index) => [
  ...systemPrompt,
  ...pseudoRandomTokens(1_200, 100 + index),
]);
const coldDurations: number[] = [];
const reuseDurations: number[] = [];
const sharedChain = reuseHasher.startChain();
sharedChain.append(systemPrompt);
for (let round = 0; round < 3; round++) {
  let started = process.hrtime.bigint();
  for (const prompt of questions) reuseHasher.hash(prompt);
  coldDurations.push(Number(process.hrtime.bigint() - started) / 1e6 / questions.length);
  started = process.hrtime.bigint();
  for (const prompt of questions) sharedChain.fork().extendTo(prompt);
  reuseDurations.push(Number(process.hrtime.bigint() - started) / 1e6 / questions.length);
}

const fastest = results.reduce((best, result) =>
  result.tokensPerSecond > best.tokensPerSecond ? result : best,
);
console.log(
  `block hashing, block size ${blockSize}, ${tokenCount.toLocaleString('en')} tokens x ${rounds} rounds (median), ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`,
);
console.log('| algorithm | tokens/s | target |');
console.log('|---|---:|---|');
for (const result of results) {
  const target = targets[result.algorithm];
  const targetText = target
    ? `>= ${(target / 1e6).toFixed(0)}M: ${result.tokensPerSecond >= target ? 'met' : 'MISSED'}`
    : result === fastest
      ? `fastest, >= 5M: ${result.tokensPerSecond >= 5_000_000 ? 'met' : 'MISSED'}`
      : '';
  console.log(`| ${result.algorithm} | ${(result.tokensPerSecond / 1e6).toFixed(2)}M | ${targetText} |`);
}
const coldMs = median(coldDurations);
const reuseMs = median(reuseDurations);
console.log(
  `incremental sha256_cbor, 6,000 shared + 1,200 new tokens: cold ${coldMs.toFixed(3)} ms, chain reuse ${reuseMs.toFixed(3)} ms per prompt (${(coldMs / reuseMs).toFixed(1)}x)`,
);
