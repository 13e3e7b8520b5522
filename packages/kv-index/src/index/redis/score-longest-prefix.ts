import type { Redis } from 'ioredis';
import { defaultTierWeights, type PrefixScores, type ScoreOptions } from '../kv-index-backend.js';
import { execPipeline } from './exec-pipeline.js';
import {
  currentGeneration,
  type ParsedEntryField,
  parseEntryField,
  parseEntryValue,
  type RedisKeyLayout,
} from './redis-key-layout.js';

/** Most prompts diverge early, so the first round trip is small; later ones grow to amortise latency. */
const firstBatchSize = 64;
const largestBatchSize = 256;

export interface PrefixScoringContext {
  readonly client: Redis;
  readonly layout: RedisKeyLayout;
  /** Time of the scoring call (ms since the epoch): speculative entries expiring by then do not count. */
  readonly now: number;
  /** Called for entries of an old generation or past their expiry, so they can be deleted lazily. */
  readonly onStaleEntry: (hashKey: string, field: string, value: string) => void;
}

interface ScoredHolder {
  readonly endpointKey: string;
  score: number;
  active: boolean;
}

interface PresentHolder {
  readonly field: ParsedEntryField;
  weight: number;
}

type Generations = Map<string, Readonly<Record<string, string>>>;

/**
 * The same few holder fields repeat on every block of a prompt: parse each once per call, with the
 * generation its entries must carry (null for fields this backend did not write).
 */
class EntryFieldCache {
  private readonly parsed = new Map<string, { field: ParsedEntryField; generation: string } | null>();

  constructor(private readonly generations: Generations) {}

  get(rawField: string): { field: ParsedEntryField; generation: string } | null {
    let cached = this.parsed.get(rawField);
    if (cached === undefined) {
      const field = parseEntryField(rawField);
      // Only called once the endpoint's generations are known (block 0, or an active holder).
      cached = field
        ? {
            field,
            generation: currentGeneration(this.generations.get(field.endpointKey) ?? {}, field.rankField),
          }
        : null;
      this.parsed.set(rawField, cached);
    }
    return cached;
  }
}

/**
 * Longest consecutive prefix per holder, tier-weighted (block-hashing.md §10.1): block 0 seeds the
 * holders, each later block keeps those still holding it, and the walk stops at the first block no
 * remaining holder has. An endpoint scores the best of its holders, because a prefix split across
 * two data-parallel ranks is not cached by either.
 */
export async function scoreLongestPrefix(
  context: PrefixScoringContext,
  requestKeys: ReadonlyArray<bigint>,
  options: ScoreOptions,
): Promise<PrefixScores> {
  const totalBlocks = requestKeys.length;
  const scores = new Map<string, number>();
  const candidates = options.candidates ? new Set(options.candidates) : undefined;
  if (totalBlocks === 0 || candidates?.size === 0) return { totalBlocks, scores };

  const weights: Readonly<Record<string, number>> = { ...defaultTierWeights, ...options.tierWeights };
  const weightOf = (tier: string): number => (Object.hasOwn(weights, tier) ? (weights[tier] ?? 1) : 1);
  const generations: Generations = new Map();
  const fields = new EntryFieldCache(generations);
  const holders = new Map<string, ScoredHolder>();
  let activeCount = 0;
  let position = 0;
  let batchSize = firstBatchSize;

  walk: while (position < totalBlocks) {
    const end = Math.min(totalBlocks, position + batchSize);
    const hashKeys: string[] = [];
    for (let block = position; block < end; block++) {
      hashKeys.push(context.layout.requestKey(requestKeys[block] as bigint));
    }
    // With candidates, their generations ride along with the first batch: one round trip in all.
    const prefetched = position === 0 && candidates ? [...candidates] : [];
    const pipeline = context.client.pipeline();
    for (const hashKey of hashKeys) pipeline.hgetall(hashKey);
    for (const endpointKey of prefetched) pipeline.hgetall(context.layout.generationKey(endpointKey));
    const replies = await execPipeline(pipeline);
    prefetched.forEach((endpointKey, index) => {
      generations.set(endpointKey, replies[hashKeys.length + index] as Record<string, string>);
    });
    if (position === 0 && !candidates) {
      await fetchGenerations(context, generations, replies[0] as Record<string, string>);
    }

    for (let offset = 0; offset < hashKeys.length; offset++) {
      const block = position + offset;
      const present = presentHolders(
        context,
        hashKeys[offset] as string,
        replies[offset] as Record<string, string>,
        fields,
        (field) =>
          block === 0
            ? !candidates || candidates.has(field.endpointKey)
            : holders.get(field.holderId)?.active === true,
        weightOf,
      );
      if (block === 0) {
        for (const [holderId, { field, weight }] of present) {
          holders.set(holderId, { endpointKey: field.endpointKey, score: weight, active: true });
        }
        activeCount = holders.size;
      } else {
        for (const [holderId, holder] of holders) {
          if (!holder.active) continue;
          const held = present.get(holderId);
          if (held) {
            holder.score += held.weight;
          } else {
            holder.active = false;
            activeCount--;
          }
        }
      }
      if (activeCount === 0) break walk;
    }
    position = end;
    batchSize = Math.min(largestBatchSize, batchSize * 2);
  }

  for (const holder of holders.values()) {
    // Same rule as the in-memory backend: an endpoint whose best prefix weighs nothing is absent.
    if (holder.score > (scores.get(holder.endpointKey) ?? 0)) scores.set(holder.endpointKey, holder.score);
  }
  return { totalBlocks, scores };
}

/** Generations of the endpoints found on block 0 (only they can score), in one round trip. */
async function fetchGenerations(
  context: PrefixScoringContext,
  generations: Generations,
  firstBlockEntries: Readonly<Record<string, string>>,
): Promise<void> {
  const endpointKeys = new Set<string>();
  for (const field of Object.keys(firstBlockEntries)) {
    const parsed = parseEntryField(field);
    if (parsed) endpointKeys.add(parsed.endpointKey);
  }
  if (endpointKeys.size === 0) return;
  const pipeline = context.client.pipeline();
  for (const endpointKey of endpointKeys) pipeline.hgetall(context.layout.generationKey(endpointKey));
  const replies = await execPipeline(pipeline);
  [...endpointKeys].forEach((endpointKey, index) => {
    generations.set(endpointKey, replies[index] as Record<string, string>);
  });
}

/** The holders of one block that pass `admit`, each with its best tier weight. */
function presentHolders(
  context: PrefixScoringContext,
  hashKey: string,
  entries: Readonly<Record<string, string>>,
  fields: EntryFieldCache,
  admit: (field: ParsedEntryField) => boolean,
  weightOf: (tier: string) => number,
): Map<string, PresentHolder> {
  const present = new Map<string, PresentHolder>();
  for (const rawField in entries) {
    const rawValue = entries[rawField] as string;
    const cached = fields.get(rawField);
    if (!cached || !admit(cached.field)) continue;
    const field = cached.field;
    const value = parseEntryValue(rawValue);
    if (!value) continue;
    const isStale = value.generation !== cached.generation;
    if (isStale || (value.expiresAt !== undefined && value.expiresAt <= context.now)) {
      context.onStaleEntry(hashKey, rawField, rawValue);
      continue;
    }
    const weight = weightOf(field.tier);
    const held = present.get(field.holderId);
    if (!held) present.set(field.holderId, { field, weight });
    else if (weight > held.weight) held.weight = weight;
  }
  return present;
}
