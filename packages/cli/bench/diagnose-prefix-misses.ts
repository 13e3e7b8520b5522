/**
 * Why does a routing setup miss the prefix cache more often than the oracle? Runs one setup on a
 * fresh local cluster at a constant Poisson rate and classifies every request by the cached tokens
 * the pod reported: a miss of a group whose earlier request had already produced its first token
 * (its prefix was cached somewhere) is a routing or eviction miss; a miss while every earlier
 * request of the group was still prefilling is an in-flight miss, which no router can avoid.
 *
 *   node --conditions=@llmd/source --import tsx bench/diagnose-prefix-misses.ts <setup> <rate> <seconds> <timeScale> [outputLength] [scaled|unscaled] [numGpuBlocks]
 *
 * The simulator settings are those of docs/routing-benchmark.md (8 pods, 2,400 blocks of 64 tokens).
 */
import { performance } from 'node:perf_hooks';
import { createPoissonGaps } from '../src/bench/arrivals.js';
import { createPromptVocabulary } from '../src/bench/prompt-vocabulary.js';
import { parseRoutingSetupList, routingSetupPath } from '../src/bench/routing-setups.js';
import { sendStreamingRequest } from '../src/bench/streaming-client.js';
import { createWorkload } from '../src/bench/workloads.js';
import { startLocalStack } from '../src/up/local-stack.js';

const [
  setupName = 'precise',
  rateText = '12',
  secondsText = '40',
  timeScaleText = '0.25',
  outputText = '10',
  ttl = 'scaled',
  blocksText = '2400',
] = process.argv.slice(2);
const timeScale = Number(timeScaleText);
// `precise-prefix-only`: the precise config without its load scorers, to tell load-driven
// diversions from index misses.
const prefixOnly = setupName === 'precise-prefix-only';
const [listed] = parseRoutingSetupList(prefixOnly ? 'precise' : setupName);
if (!listed) throw new Error('no setup');
const setup = prefixOnly
  ? {
      ...listed,
      configText: (context: Parameters<typeof listed.configText>[0]) =>
        listed
          .configText(context)
          .replace(/^ {2}- \{ pluginRef: (kv-cache-utilization-scorer|queue-scorer), weight: 2 \}\n/gm, ''),
    }
  : listed;
const rate = Number(rateText);
const seconds = Number(secondsText);
const stack = await startLocalStack({
  // `unscaled`: keep the speculative TTL at llm-d's 2 s of real time, however slow the pods run.
  path: routingSetupPath(setup, { timeScale: ttl === 'unscaled' ? 1 : timeScale }),
  replicas: 8,
  port: 0,
  plugins: setup.plugins,
  sim: { blockSize: 64, numGpuBlocks: Number(blocksText), maxModelLen: 32768, timeScale },
});
const workload = createWorkload(
  { type: 'shared-prefix', outputLength: Number(outputText), seed: 0 },
  { vocabulary: createPromptVocabulary() },
);
interface RequestRecord {
  group: string;
  arrivedAt: number;
  firstTokenAt: number;
  cached: number;
  prompt: number;
  previousFirstTokenBeforeArrival: boolean;
  previousRequests: number;
}
const firstTokenTimes = new Map<string, number[]>();
const arrivals = new Map<string, number>();
const records: Promise<RequestRecord>[] = [];
const gaps = createPoissonGaps(rate, 0);
const start = performance.now();
let next = start;
while (next - start < seconds * 1000) {
  next += gaps();
  const delay = next - performance.now();
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  const request = workload.next();
  const group = (request.userKey ?? '').replace(/-user-\d+$/, '');
  const arrivedAt = performance.now();
  const previousRequests = arrivals.get(group) ?? 0;
  arrivals.set(group, previousRequests + 1);
  records.push(
    sendStreamingRequest({ baseUrl: stack.gatewayUrl, model: stack.modelName, request }).then((outcome) => {
      const firstTokenAt = arrivedAt + (outcome.timeToFirstTokenMilliseconds ?? 0);
      const list = firstTokenTimes.get(group) ?? [];
      list.push(firstTokenAt);
      firstTokenTimes.set(group, list);
      return {
        group,
        arrivedAt,
        firstTokenAt,
        cached: outcome.cachedTokens ?? -1,
        prompt: outcome.promptTokens ?? 0,
        // Known only now: whether any earlier request of the group had its first token before this arrival.
        previousFirstTokenBeforeArrival: false,
        previousRequests,
      };
    }),
  );
}
const done = await Promise.all(records);
await stack.close();
for (const record of done) {
  const times = firstTokenTimes.get(record.group) ?? [];
  record.previousFirstTokenBeforeArrival = times.some((time) => time < record.arrivedAt);
}
const classes = { cold: 0, inFlight: 0, routedOrEvicted: 0, prefixHit: 0, fullHit: 0, partial: 0 };
let cachedSum = 0;
let promptSum = 0;
for (const record of done) {
  cachedSum += record.cached;
  promptSum += record.prompt;
  if (record.cached >= record.prompt - 64) classes.fullHit++;
  else if (record.cached >= 5900) classes.prefixHit++;
  else if (record.cached > 0) classes.partial++;
  else if (record.previousRequests === 0) classes.cold++;
  else if (!record.previousFirstTokenBeforeArrival) classes.inFlight++;
  else classes.routedOrEvicted++;
}
console.log(
  JSON.stringify({
    setup: setupName,
    ttl,
    numGpuBlocks: Number(blocksText),
    rate,
    seconds,
    requests: done.length,
    hitRate: cachedSum / promptSum,
    classes,
  }),
);
