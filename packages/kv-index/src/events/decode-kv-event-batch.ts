import {
  type AllBlocksClearedEvent,
  type BlockRemovedEvent,
  type BlockStoredEvent,
  InvalidArgumentError,
  type KvEvent,
  type KvEventBatch,
} from '@llmd/core';
import { Unpackr } from 'msgpackr';
import { blockHashFromWire } from './block-hash-from-wire.js';
import { KvEventDecodeError } from './kv-event-decode-error.js';

export interface DecodeKvEventBatchOptions {
  /**
   * Most block hashes one event may carry (default 1,048,576: 16M tokens at block size 16). One
   * BlockStored covers one request's newly cached blocks, so anything larger is corruption.
   */
  readonly maxBlockHashesPerEvent?: number;
  /** Most tokens one event may carry (default 16,777,216). */
  readonly maxTokensPerEvent?: number;
  /** Most events one batch may carry (default 1,048,576). */
  readonly maxEventsPerBatch?: number;
}

export interface DecodedKvEventBatch {
  readonly batch: KvEventBatch;
  /** The tag of every event skipped because its type is unknown, in payload order. */
  readonly unknownEventTags: string[];
}

/** Decodes one payload; throws {@link KvEventDecodeError} when it is not a readable batch. */
export type KvEventBatchDecoder = (payload: Uint8Array) => DecodedKvEventBatch;

interface DecodeLimits {
  readonly maxBlockHashesPerEvent: number;
  readonly maxTokensPerEvent: number;
  readonly maxEventsPerBatch: number;
}

const defaultLimits: DecodeLimits = {
  maxBlockHashesPerEvent: 1 << 20,
  maxTokensPerEvent: 1 << 24,
  maxEventsPerBatch: 1 << 20,
};

const subject = 'KV-event batch';

/**
 * Decodes a vLLM KV-event batch (kv-events.md §1–2) into llmd's in-memory events, tolerating every
 * wire era: array or map at batch and event level, positional events with fewer (older engines)
 * or more (newer engines) fields, hashes as uint64, int64 or digest bytes, and unknown event types,
 * which are skipped and reported so that a newer engine does not stop the index.
 */
export function decodeKvEventBatch(
  payload: Uint8Array,
  options: DecodeKvEventBatchOptions = {},
): DecodedKvEventBatch {
  return createKvEventBatchDecoder(options)(payload);
}

/** A decoder with its limits and msgpack settings resolved once, for the per-message hot path. */
export function createKvEventBatchDecoder(options: DecodeKvEventBatchOptions = {}): KvEventBatchDecoder {
  const limits: DecodeLimits = {
    maxBlockHashesPerEvent: positiveLimit(
      options.maxBlockHashesPerEvent,
      defaultLimits.maxBlockHashesPerEvent,
    ),
    maxTokensPerEvent: positiveLimit(options.maxTokensPerEvent, defaultLimits.maxTokensPerEvent),
    maxEventsPerBatch: positiveLimit(options.maxEventsPerBatch, defaultLimits.maxEventsPerBatch),
  };
  // Maps decode to `Map` (not objects) so wire keys such as `__proto__` or `constructor` cannot
  // interfere with lookups, and every 64-bit integer decodes to a bigint so hashes stay exact.
  const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: 'bigint' });
  return (payload) => readBatch(unpack(unpackr, payload), limits);
}

function positiveLimit(value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`KV-event decoder limits must be positive integers, got ${value}`);
  }
  return value;
}

function unpack(unpackr: Unpackr, payload: Uint8Array): unknown {
  if (!(payload instanceof Uint8Array)) {
    throw new KvEventDecodeError(`${subject}: expected msgpack bytes, got ${describeWireValue(payload)}`);
  }
  if (payload.length === 0) throw new KvEventDecodeError(`${subject}: the payload is empty`);
  try {
    return unpackr.unpack(payload);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new KvEventDecodeError(`${subject}: the payload is not valid msgpack (${reason})`, {
      cause: error,
    });
  }
}

/** `path` is the snake_case wire path (`events[2].block_hashes[0]`); empty for the batch itself. */
function fail(path: string, problem: string): never {
  if (path === '') throw new KvEventDecodeError(`${subject}: ${problem}`);
  throw new KvEventDecodeError(`${subject} ${path}: ${problem}`, { path });
}

function readBatch(value: unknown, limits: DecodeLimits): DecodedKvEventBatch {
  let timestampValue: unknown;
  let eventsValue: unknown;
  let rankValue: unknown;
  if (Array.isArray(value)) {
    // `[ts, events, data_parallel_rank]`; the rank slot is missing from some older publishers.
    if (value.length < 2) fail('', `expected [ts, events, data_parallel_rank], got ${value.length} items`);
    [timestampValue, eventsValue, rankValue] = value;
  } else if (value instanceof Map) {
    timestampValue = value.get('ts');
    eventsValue = value.get('events');
    rankValue = value.get('data_parallel_rank');
  } else {
    fail('', `expected an array or a map, got ${describeWireValue(value)}`);
  }

  const timestamp = readFiniteNumber(timestampValue, 'ts');
  if (!Array.isArray(eventsValue)) fail('events', `expected a list, got ${describeWireValue(eventsValue)}`);
  if (eventsValue.length > limits.maxEventsPerBatch) {
    fail('events', `${eventsValue.length} events exceed the limit of ${limits.maxEventsPerBatch}`);
  }
  const dataParallelRank = readOptionalInteger(rankValue, 'data_parallel_rank', 0);

  const events: KvEvent[] = [];
  const unknownEventTags: string[] = [];
  for (let index = 0; index < eventsValue.length; index += 1) {
    const decoded = readEvent(eventsValue[index], `events[${index}]`, limits);
    if (typeof decoded === 'string') unknownEventTags.push(decoded);
    else events.push(decoded);
  }
  return { batch: { timestamp, events, dataParallelRank }, unknownEventTags };
}

/**
 * Field access that hides the event's shape: arrays are read by declaration position (1-based,
 * after the tag), maps by field name. Absent fields read as `undefined`.
 */
interface EventFields {
  readonly fieldCount: number;
  get(position: number, name: string): unknown;
}

/** Returns the decoded event, or the tag of an event type this decoder does not know. */
function readEvent(value: unknown, path: string, limits: DecodeLimits): KvEvent | string {
  let tag: unknown;
  let fields: EventFields;
  if (Array.isArray(value)) {
    tag = value[0];
    fields = { fieldCount: value.length - 1, get: (position) => value[position] };
  } else if (value instanceof Map) {
    tag = value.get('type');
    fields = { fieldCount: value.size - 1, get: (_position, name) => value.get(name) };
  } else {
    fail(path, `expected an event array or map, got ${describeWireValue(value)}`);
  }
  if (typeof tag !== 'string')
    fail(`${path}.type`, `expected an event tag string, got ${describeWireValue(tag)}`);
  switch (tag) {
    case 'BlockStored':
      return readBlockStored(fields, Array.isArray(value), path, limits);
    case 'BlockRemoved':
      return readBlockRemoved(fields, Array.isArray(value), path, limits);
    case 'AllBlocksCleared':
      return { type: 'AllBlocksCleared' } satisfies AllBlocksClearedEvent;
    default:
      return tag;
  }
}

function requireFieldCount(
  fields: EventFields,
  isArray: boolean,
  minimum: number,
  path: string,
  tag: string,
) {
  // Only positional events can be short; a map's missing required field is reported by name.
  if (isArray && fields.fieldCount < minimum) {
    fail(path, `${tag} has ${Math.max(0, fields.fieldCount)} fields; at least ${minimum} are required`);
  }
}

function required(value: unknown, path: string): unknown {
  if (value === undefined) fail(path, 'missing required field');
  return value;
}

function readBlockStored(
  fields: EventFields,
  isArray: boolean,
  path: string,
  limits: DecodeLimits,
): BlockStoredEvent {
  // Every BlockStored since vLLM #16750 has hashes, parent, tokens and block size; the rest came later.
  requireFieldCount(fields, isArray, 4, path, 'BlockStored');
  const blockHashes = readHashList(
    required(fields.get(1, 'block_hashes'), `${path}.block_hashes`),
    `${path}.block_hashes`,
    limits,
  );
  const parentBlockHash = readOptionalHash(fields.get(2, 'parent_block_hash'), `${path}.parent_block_hash`);
  const tokenIds = readTokenIds(
    required(fields.get(3, 'token_ids'), `${path}.token_ids`),
    `${path}.token_ids`,
    limits,
  );
  const blockSize = readInteger(
    required(fields.get(4, 'block_size'), `${path}.block_size`),
    `${path}.block_size`,
    0,
  );
  const loraId = readOptionalInteger(fields.get(5, 'lora_id'), `${path}.lora_id`, Number.MIN_SAFE_INTEGER);
  const medium = readOptionalString(fields.get(6, 'medium'), `${path}.medium`);
  const loraName = readOptionalString(fields.get(7, 'lora_name'), `${path}.lora_name`);
  const extraKeys = readExtraKeys(fields.get(8, 'extra_keys'), `${path}.extra_keys`);
  const groupIdx = readOptionalInteger(fields.get(9, 'group_idx'), `${path}.group_idx`, 0);
  const kvCacheSpecKind = readOptionalString(
    fields.get(10, 'kv_cache_spec_kind'),
    `${path}.kv_cache_spec_kind`,
  );
  const kvCacheSpecSlidingWindow = readOptionalInteger(
    fields.get(11, 'kv_cache_spec_sliding_window'),
    `${path}.kv_cache_spec_sliding_window`,
    0,
  );
  // Dense events carry exactly the tokens of their blocks. Sliding-window groups legitimately carry
  // more (kv-events.md §3), so they pass here and the index decides what to do with them.
  const slidingWindow = kvCacheSpecKind === 'sliding_window' || kvCacheSpecSlidingWindow !== null;
  if (!slidingWindow && tokenIds.length > blockSize * blockHashes.length) {
    fail(
      `${path}.token_ids`,
      `${tokenIds.length} tokens exceed block_size ${blockSize} × ${blockHashes.length} block hashes`,
    );
  }
  return {
    type: 'BlockStored',
    blockHashes,
    parentBlockHash,
    tokenIds,
    blockSize,
    loraId,
    medium,
    loraName,
    extraKeys,
    groupIdx,
    kvCacheSpecKind,
    kvCacheSpecSlidingWindow,
  };
}

function readBlockRemoved(
  fields: EventFields,
  isArray: boolean,
  path: string,
  limits: DecodeLimits,
): BlockRemovedEvent {
  requireFieldCount(fields, isArray, 1, path, 'BlockRemoved');
  const blockHashes = readHashList(
    required(fields.get(1, 'block_hashes'), `${path}.block_hashes`),
    `${path}.block_hashes`,
    limits,
  );
  const medium = readOptionalString(fields.get(2, 'medium'), `${path}.medium`);
  const groupIdx = readOptionalInteger(fields.get(3, 'group_idx'), `${path}.group_idx`, 0);
  return { type: 'BlockRemoved', blockHashes, medium, groupIdx };
}

function readHashList(value: unknown, path: string, limits: DecodeLimits): bigint[] {
  if (!Array.isArray(value)) fail(path, `expected a list of block hashes, got ${describeWireValue(value)}`);
  if (value.length > limits.maxBlockHashesPerEvent) {
    fail(path, `${value.length} block hashes exceed the limit of ${limits.maxBlockHashesPerEvent}`);
  }
  const hashes: bigint[] = new Array(value.length);
  for (let index = 0; index < value.length; index += 1)
    hashes[index] = readHash(value[index], `${path}[${index}]`);
  return hashes;
}

function readHash(value: unknown, path: string): bigint {
  const hash = blockHashFromWire(value);
  if (hash === undefined) {
    fail(path, `expected a block hash (64-bit integer or digest bytes), got ${describeWireValue(value)}`);
  }
  return hash;
}

function readOptionalHash(value: unknown, path: string): bigint | null {
  return value === null || value === undefined ? null : readHash(value, path);
}

function readTokenIds(value: unknown, path: string, limits: DecodeLimits): number[] {
  if (!Array.isArray(value)) fail(path, `expected a list of token ids, got ${describeWireValue(value)}`);
  if (value.length > limits.maxTokensPerEvent) {
    fail(path, `${value.length} tokens exceed the limit of ${limits.maxTokensPerEvent}`);
  }
  // The common case: every id is a uint32 number (msgpack fixint/uint16/uint32). msgpackr gave us
  // a fresh array, so it can be returned as is; only bigint-widened ids need a converted copy.
  let index = 0;
  while (index < value.length && (value[index] as number) >>> 0 === value[index]) index += 1;
  if (index === value.length) return value as number[];
  const tokenIds = (value as unknown[]).slice() as number[];
  for (; index < value.length; index += 1) {
    const token = value[index];
    tokenIds[index] =
      typeof token === 'number' && token >>> 0 === token ? token : readInteger(token, `${path}[${index}]`, 0);
  }
  return tokenIds;
}

/** An integer ≥ `minimum`; accepts bigints in the safe range because some encoders widen small ints. */
function readInteger(value: unknown, path: string, minimum: number): number {
  let integer: number | undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value)) integer = value;
  else if (
    typeof value === 'bigint' &&
    value >= BigInt(Number.MIN_SAFE_INTEGER) &&
    value <= BigInt(Number.MAX_SAFE_INTEGER)
  ) {
    integer = Number(value);
  }
  if (integer === undefined) fail(path, `expected an integer, got ${describeWireValue(value)}`);
  if (integer < minimum) fail(path, `expected an integer ≥ ${minimum}, got ${integer}`);
  return integer;
}

function readOptionalInteger(value: unknown, path: string, minimum: number): number | null {
  return value === null || value === undefined ? null : readInteger(value, path, minimum);
}

function readFiniteNumber(value: unknown, path: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  fail(path, `expected a number, got ${describeWireValue(value)}`);
}

function readOptionalString(value: unknown, path: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') fail(path, `expected a string or nil, got ${describeWireValue(value)}`);
  return value;
}

/**
 * One entry per block: a tuple of what was hashed besides the tokens, or nil. Some engine versions
 * sent bare values instead of tuples (kv-events.md §8 #12); those are kept as one-element tuples
 * rather than failing the whole batch, since the rest of the event is still valid.
 */
function readExtraKeys(value: unknown, path: string): Array<ReadonlyArray<unknown> | null> | null {
  if (value === null || value === undefined) return null;
  if (!Array.isArray(value)) fail(path, `expected a list or nil, got ${describeWireValue(value)}`);
  return value.map((entry: unknown) => {
    if (entry === null || entry === undefined) return null;
    return Array.isArray(entry) ? entry : [entry];
  });
}

function describeWireValue(value: unknown): string {
  if (value === null) return 'nil';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value instanceof Map) return `a map of ${value.size}`;
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return `${typeof value} ${String(value)}`;
  }
  const name = typeof value === 'object' ? value.constructor?.name : undefined;
  return name === undefined || name === 'Object' ? typeof value : `${typeof value} ${name}`;
}
