import {
  type BlockHasher,
  type BlockStoredEvent,
  createBlockHasher,
  type EngineHashAlgorithm,
  engineHashAlgorithms,
} from '@llmd/core';

/** How an engine hashes its blocks: `--prefix-caching-hash-algo` and `PYTHONHASHSEED`. */
export interface BlockHashing {
  readonly algorithm: EngineHashAlgorithm;
  readonly seed: string;
}

/** Seeds people set PYTHONHASHSEED to, tried when the configured one does not match. */
export const commonHashSeeds: ReadonlyArray<string> = [
  '0',
  '42',
  '1',
  '123',
  '1234',
  '12345',
  '2024',
  '2025',
  '',
];

/**
 * Recomputes an event's block hashes from its tokens under one configuration. Only events at the
 * start of a sequence can be checked: a continuation's parent is known only by its truncated
 * 64-bit value, while the chain needs the parent's full digest (block-hashing.md §1).
 */
export class BlockHashMatcher {
  /** One hasher per configuration, block size and LoRA; bounded by the candidates tried. */
  readonly #hashers = new Map<string, BlockHasher | null>();

  matches(event: BlockStoredEvent, hashing: BlockHashing): boolean {
    const loraName = event.loraName ?? undefined;
    const cacheKey = `${hashing.algorithm}\u0000${hashing.seed}\u0000${event.blockSize}\u0000${loraName ?? ''}`;
    let hasher = this.#hashers.get(cacheKey);
    if (hasher === undefined) {
      try {
        hasher = createBlockHasher({
          algorithm: hashing.algorithm,
          blockSize: event.blockSize,
          seed: hashing.seed,
          ...(loraName === undefined ? {} : { loraName }),
        });
      } catch {
        // For example pickle-based algorithms with huge blocks: this configuration cannot be checked.
        hasher = null;
      }
      this.#hashers.set(cacheKey, hasher);
    }
    if (hasher === null) return false;
    const computed = hasher.hash(event.tokenIds);
    return (
      computed.length === event.blockHashes.length &&
      computed.every((value, index) => value === event.blockHashes[index])
    );
  }

  /** Whether every event matches the configuration. */
  matchesAll(events: ReadonlyArray<BlockStoredEvent>, hashing: BlockHashing): boolean {
    return events.length > 0 && events.every((event) => this.matches(event, hashing));
  }
}

function unique<Value>(values: ReadonlyArray<Value | undefined>): Value[] {
  return [...new Set(values.filter((value): value is Value => value !== undefined))];
}

/**
 * The candidates in the order they are tried: the preferred algorithm and seeds first, then every
 * algorithm with each seed, so a likely answer is found without hashing all of them.
 */
export function hashingCandidates(
  preferredAlgorithms: ReadonlyArray<EngineHashAlgorithm | undefined>,
  preferredSeeds: ReadonlyArray<string | undefined>,
): BlockHashing[] {
  const algorithms = unique([...preferredAlgorithms, ...engineHashAlgorithms]);
  const seeds = unique([...preferredSeeds, ...commonHashSeeds]);
  const candidates: BlockHashing[] = [];
  for (const seed of seeds) for (const algorithm of algorithms) candidates.push({ algorithm, seed });
  return candidates;
}

/** The first candidate that reproduces every event's hashes, if any. */
export function detectBlockHashing(
  events: ReadonlyArray<BlockStoredEvent>,
  candidates: ReadonlyArray<BlockHashing>,
  matcher = new BlockHashMatcher(),
): BlockHashing | undefined {
  const first = events[0];
  if (first === undefined) return undefined;
  // Testing one event per candidate first keeps the search cheap; the rest confirm the match.
  return candidates.find(
    (candidate) => matcher.matches(first, candidate) && matcher.matchesAll(events, candidate),
  );
}
