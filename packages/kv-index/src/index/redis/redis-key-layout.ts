import { InvalidArgumentError } from '@llmd/core';
import type { Holder } from '../kv-index-backend.js';

/**
 * Names of every Redis key and hash field the backend writes (see README.md in this folder).
 * Holder identities are `<endpointKey>|<rank>|<group>` with `-` for a null rank or group; the
 * endpoint comes first and is recovered by parsing from the right, so endpoint keys may contain
 * `|` (IPv6 literals, unusual names) without ambiguity.
 */
export class RedisKeyLayout {
  constructor(readonly prefix: string) {}

  /** Prefix of request-key hashes; Lua scripts append decimal request keys to it. */
  get requestKeyPrefix(): string {
    return `${this.prefix}rk:`;
  }

  /** Hash of holder entries for one request key. */
  requestKey(requestKey: bigint): string {
    return `${this.prefix}rk:${toDecimal(requestKey)}`;
  }

  /** Hash engine key → request keys, one per holder (engine keys are only unique within one engine). */
  engineMapKey(holder: Holder): string {
    return `${this.prefix}ek:${holderId(holder)}`;
  }

  /** Prefix of the engine-map keys of one endpoint; the clear script appends holder members. */
  engineMapKeyPrefix(endpointKey: string): string {
    return `${this.prefix}ek:${endpointKey}|`;
  }

  /** Hash of generation numbers of one endpoint: field `*` for the endpoint, one field per rank. */
  generationKey(endpointKey: string): string {
    return `${this.prefix}gen:${endpointKey}`;
  }

  /** Set of the endpoint's holder members (`<rank>|<group>`), so a clear can drop their engine maps. */
  holdersKey(endpointKey: string): string {
    return `${this.prefix}holders:${endpointKey}`;
  }

  /** Hash of block counters of one endpoint: field `<rank>|<tier>`. */
  statsKey(endpointKey: string): string {
    return `${this.prefix}stats:${endpointKey}`;
  }

  /** Set of endpoint keys holding (or having held since their last full clear) any block. */
  get endpointsKey(): string {
    return `${this.prefix}endpoints`;
  }
}

/** Generation-hash field of the endpoint-wide generation. */
export const endpointGenerationField = '*';

/** 64-bit keys are written in decimal, as upstream does, so they stay readable in redis-cli. */
export function toDecimal(key: bigint): string {
  return BigInt.asUintN(64, key).toString();
}

function optionalIndexField(value: number | null): string {
  return value === null ? '-' : String(value);
}

/** Generation-hash (and counter) field of one data-parallel rank. */
export function rankField(dataParallelRank: number | null): string {
  return optionalIndexField(dataParallelRank);
}

/** Member of the endpoint's holder set: the holder identity without the endpoint. */
export function holderMember(holder: Holder): string {
  return `${rankField(holder.dataParallelRank)}|${optionalIndexField(holder.groupIdx)}`;
}

export function holderId(holder: Holder): string {
  return `${holder.endpointKey}|${holderMember(holder)}`;
}

/** Field of a request-key hash: one per holder and tier. */
export function entryField(holder: Holder, tier: string): string {
  return `${holderId(holder)}|${tier}`;
}

/** Field of an endpoint's counter hash. */
export function statsField(dataParallelRank: number | null, tier: string): string {
  return `${rankField(dataParallelRank)}|${tier}`;
}

export interface ParsedEntryField {
  readonly holderId: string;
  readonly endpointKey: string;
  readonly rankField: string;
  readonly tier: string;
}

/** Inverse of {@link entryField}; undefined for a field this backend did not write. */
export function parseEntryField(field: string): ParsedEntryField | undefined {
  const tierSeparator = field.lastIndexOf('|');
  if (tierSeparator <= 0) return undefined;
  const groupSeparator = field.lastIndexOf('|', tierSeparator - 1);
  if (groupSeparator <= 0) return undefined;
  const rankSeparator = field.lastIndexOf('|', groupSeparator - 1);
  if (rankSeparator <= 0) return undefined;
  return {
    holderId: field.slice(0, tierSeparator),
    endpointKey: field.slice(0, rankSeparator),
    rankField: field.slice(rankSeparator + 1, groupSeparator),
    tier: field.slice(tierSeparator + 1),
  };
}

export interface ParsedEntryValue {
  /** `<endpoint generation>.<rank generation>` the entry was written under. */
  readonly generation: string;
  /** Expiry of a speculative entry (ms since the epoch); undefined for confirmed entries. */
  readonly expiresAt: number | undefined;
}

/** Entry value: `<generation>` when confirmed, `<generation>:<expiresAt>` when speculative. */
export function parseEntryValue(value: string): ParsedEntryValue | undefined {
  const colon = value.indexOf(':');
  if (colon < 0) return { generation: value, expiresAt: undefined };
  const expiresAt = Number(value.slice(colon + 1));
  if (!Number.isFinite(expiresAt)) return undefined;
  return { generation: value.slice(0, colon), expiresAt };
}

/**
 * The generation an entry of `rank` must carry to count, from an endpoint's generation hash. A
 * missing endpoint generation reads as 0, which no entry carries (writers start endpoints at a
 * clock-derived generation), so a lost generation hash hides the endpoint's entries instead of
 * resurrecting retired ones; a missing rank generation is 0.
 */
export function currentGeneration(generations: Readonly<Record<string, string>>, rank: string): string {
  return `${generations[endpointGenerationField] ?? '0'}.${generations[rank] ?? '0'}`;
}

function isOptionalIndex(value: unknown): boolean {
  return value === null || (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0);
}

export function validateHolder(holder: Holder): void {
  if (typeof holder.endpointKey !== 'string' || holder.endpointKey === '') {
    throw new InvalidArgumentError('holder endpointKey must be a non-empty string', {
      path: 'holder.endpointKey',
    });
  }
  if (!isOptionalIndex(holder.dataParallelRank)) {
    throw new InvalidArgumentError('holder dataParallelRank must be a non-negative integer or null', {
      path: 'holder.dataParallelRank',
    });
  }
  if (!isOptionalIndex(holder.groupIdx)) {
    throw new InvalidArgumentError('holder groupIdx must be a non-negative integer or null', {
      path: 'holder.groupIdx',
    });
  }
}

/** `|` and `,` separate fields and lists in stored values, so tiers must not contain them. */
export function validateTier(tier: string): void {
  if (typeof tier !== 'string' || tier === '' || tier.includes('|') || tier.includes(',')) {
    throw new InvalidArgumentError(`tier "${String(tier)}" must be a non-empty name without "|" or ","`, {
      path: 'tier',
    });
  }
}
