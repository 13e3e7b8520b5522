import { createHash } from 'node:crypto';
import { parseWithSchema } from '@llmd/core';
import { z } from 'zod';
import type { BenchRequest, Workload } from './workload.js';

export const oracleOptionsSchema = z.object({
  pods: z.number().int().min(1).max(1024),
  /** KV blocks each pod holds (the simulator's `numGpuBlocks`). */
  blocksPerPod: z.number().int().min(1),
  /** Prompt units (tokens or words, the workload's unit) per block. */
  blockSize: z.number().int().min(1).max(4096),
  /** Requests replayed per load step, in order; the cache carries over from step to step. */
  requestsPerStep: z.array(z.number().int().min(0)).min(1).max(1000),
});

export type OracleOptions = z.input<typeof oracleOptionsSchema>;

export interface OracleStepHitRate {
  index: number;
  requests: number;
  /** Σ prompt units of the step's requests. */
  promptUnits: number;
  /** Σ units found cached on the pod each request was sent to. */
  cachedUnits: number;
  /** cachedUnits / promptUnits; null for an empty step. */
  hitRate: number | null;
}

export interface OracleHitRate {
  steps: OracleStepHitRate[];
  /** Over every replayed request. */
  hitRate: number | null;
  pods: number;
  blocksPerPod: number;
  blockSize: number;
}

/**
 * What the oracle assumes, for reports: it is an upper bound under the simulator's cache model, not
 * a schedule that could be achieved under load.
 */
export const oracleAssumptions = [
  'requests are replayed one at a time in the order the benchmark sent them; each is served instantly, so a prefix is cached before the next request arrives (no prefill in flight)',
  'each request goes to the pod holding the longest cached prefix of it, ties to the least recently used pod; load is ignored',
  'per-pod KV = numGpuBlocks blocks of blockSize prompt units, least recently used block evicted first; a finished request frees its tail blocks first (as vLLM), running requests pin nothing',
  'prompts only: output tokens are not cached, so they take no capacity; the last prompt unit is always recomputed (vLLM), so at most ⌊(n − 1) / blockSize⌋ blocks hit',
  "units are the workload's words (one token each under its vocabulary); a chat message adds one unit for its role and one for its end, close to what a chat template adds",
] as const;

/** Space-led words, as the prompt vocabularies build prompts. */
const unitPattern = / ?[^ ]+/g;

/** A request's prompt as units: the completion prompt, or every chat message with role and end markers. */
export function promptUnits(request: BenchRequest): string[] {
  if (request.api === 'completions') return request.prompt.match(unitPattern) ?? [];
  const units: string[] = [];
  for (const message of request.messages) {
    units.push(`<|${message.role}|>`);
    for (const unit of message.content.match(unitPattern) ?? []) units.push(unit);
    units.push('<|end|>');
  }
  return units;
}

/** Chained block keys of the full blocks: a block's key covers every unit before it, as vLLM's hashes do. */
function blockKeys(units: readonly string[], blockSize: number): string[] {
  const keys: string[] = [];
  let parent = '';
  for (let start = 0; start + blockSize <= units.length; start += blockSize) {
    const hash = createHash('sha1');
    hash.update(parent);
    for (let index = start; index < start + blockSize; index++) hash.update(`${units[index]}\u0000`);
    parent = hash.digest('base64');
    keys.push(parent);
  }
  return keys;
}

/** One pod's KV cache: a `Map` in recency order, oldest first. */
class PodCache {
  private readonly blocks = new Map<string, true>();
  lastUsed = 0;

  constructor(private readonly capacity: number) {}

  /** Leading keys present, up to `limit`. */
  matchingPrefix(keys: readonly string[], limit: number): number {
    let matched = 0;
    while (matched < limit && this.blocks.has(keys[matched] as string)) matched++;
    return matched;
  }

  /** Cache `keys`, the last one least recent, then evict down to capacity. */
  store(keys: readonly string[]): void {
    for (let index = keys.length - 1; index >= 0; index--) {
      const key = keys[index] as string;
      this.blocks.delete(key);
      this.blocks.set(key, true);
    }
    for (const oldest of this.blocks.keys()) {
      if (this.blocks.size <= this.capacity) break;
      this.blocks.delete(oldest);
    }
  }
}

/**
 * The best achievable prefix-cache hit rate for a request sequence: replay it offline against `pods`
 * LRU block caches, sending each request where the longest prefix of it is cached (see
 * {@link oracleAssumptions}). `workload` must be fresh and built like the benchmarked one, so it
 * yields the same requests in the same order.
 */
export function replayOracle(workload: Workload, input: OracleOptions): OracleHitRate {
  const options = parseWithSchema(oracleOptionsSchema, input, 'invalid_argument', 'oracle options');
  const pods = Array.from({ length: options.pods }, () => new PodCache(options.blocksPerPod));
  let clock = 0;
  let totalPrompt = 0;
  let totalCached = 0;
  const steps: OracleStepHitRate[] = options.requestsPerStep.map((requests, index) => {
    let promptUnitCount = 0;
    let cachedUnitCount = 0;
    for (let sent = 0; sent < requests; sent++) {
      const request = workload.next();
      // Only multi-turn workloads can run dry, and they need responses the oracle does not have.
      if (request === undefined) break;
      const units = promptUnits(request);
      const keys = blockKeys(units, options.blockSize);
      const hittable = Math.min(keys.length, Math.max(0, Math.floor((units.length - 1) / options.blockSize)));
      let best = pods[0] as PodCache;
      let bestMatched = -1;
      for (const pod of pods) {
        const matched = pod.matchingPrefix(keys, hittable);
        if (matched > bestMatched || (matched === bestMatched && pod.lastUsed < best.lastUsed)) {
          best = pod;
          bestMatched = matched;
        }
      }
      best.store(keys);
      best.lastUsed = ++clock;
      promptUnitCount += units.length;
      cachedUnitCount += bestMatched * options.blockSize;
      workload.complete(request, { ok: true, text: '', outputTokens: request.maxTokens });
    }
    totalPrompt += promptUnitCount;
    totalCached += cachedUnitCount;
    return {
      index,
      requests,
      promptUnits: promptUnitCount,
      cachedUnits: cachedUnitCount,
      hitRate: promptUnitCount > 0 ? cachedUnitCount / promptUnitCount : null,
    };
  });
  return {
    steps,
    hitRate: totalPrompt > 0 ? totalCached / totalPrompt : null,
    pods: options.pods,
    blocksPerPod: options.blocksPerPod,
    blockSize: options.blockSize,
  };
}
