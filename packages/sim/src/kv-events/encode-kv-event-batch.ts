import {
  type BlockRemovedEvent,
  type BlockStoredEvent,
  InvalidArgumentError,
  type KvEvent,
  type KvEventBatch,
} from '@llmd/core';
import { MsgpackWriter } from './msgpack-writer.js';

/**
 * `array`: positional events with every declared field (vLLM ≤ v0.23, the simulator default).
 * `map`: tagged maps without null-default fields (vLLM PR #42892, `--use-vllm-map-event-format`).
 */
export type KvEventWireFormat = 'array' | 'map';

export interface EncodeKvEventBatchOptions {
  readonly format: KvEventWireFormat;
}

const minInt64 = -(1n << 63n);
const maxUint64 = (1n << 64n) - 1n;

/**
 * Encode one batch as vLLM's msgspec does: `[ts, events, data_parallel_rank]` with `ts` always
 * float64. Field order and presence follow vLLM's struct declarations (kv-events.md §1–§2), because
 * older consumers read array-form events by position.
 */
export function encodeKvEventBatch(batch: KvEventBatch, options: EncodeKvEventBatchOptions): Uint8Array {
  const writer = new MsgpackWriter(64 + batch.events.length * 128);
  writer.writeArrayHeader(3);
  writer.writeFloat64(batch.timestamp);
  writer.writeArrayHeader(batch.events.length);
  for (const event of batch.events) {
    if (options.format === 'map') writeEventAsMap(writer, event);
    else writeEventAsArray(writer, event);
  }
  writeOptionalInteger(writer, batch.dataParallelRank);
  return writer.bytes();
}

function writeEventAsArray(writer: MsgpackWriter, event: KvEvent): void {
  switch (event.type) {
    case 'BlockStored':
      writer.writeArrayHeader(12);
      writer.writeString(event.type);
      writeBlockHashes(writer, event.blockHashes);
      writeOptionalBlockHash(writer, event.parentBlockHash);
      writeTokenIds(writer, event.tokenIds);
      writer.writeInteger(event.blockSize);
      writeOptionalInteger(writer, event.loraId);
      writeOptionalString(writer, event.medium);
      writeOptionalString(writer, event.loraName);
      writeExtraKeys(writer, event.extraKeys);
      writeOptionalInteger(writer, event.groupIdx);
      writeOptionalString(writer, event.kvCacheSpecKind);
      writeOptionalInteger(writer, event.kvCacheSpecSlidingWindow);
      return;
    case 'BlockRemoved':
      writer.writeArrayHeader(4);
      writer.writeString(event.type);
      writeBlockHashes(writer, event.blockHashes);
      writeOptionalString(writer, event.medium);
      writeOptionalInteger(writer, event.groupIdx);
      return;
    case 'AllBlocksCleared':
      writer.writeArrayHeader(1);
      writer.writeString(event.type);
      return;
    default:
      throw unknownEventType(event);
  }
}

function writeEventAsMap(writer: MsgpackWriter, event: KvEvent): void {
  switch (event.type) {
    case 'BlockStored':
      writeBlockStoredAsMap(writer, event);
      return;
    case 'BlockRemoved':
      writeBlockRemovedAsMap(writer, event);
      return;
    case 'AllBlocksCleared':
      writer.writeMapHeader(1);
      writer.writeString('type');
      writer.writeString(event.type);
      return;
    default:
      throw unknownEventType(event);
  }
}

function writeBlockStoredAsMap(writer: MsgpackWriter, event: BlockStoredEvent): void {
  // The fields up to lora_name have no default in vLLM's struct, so msgspec always writes them;
  // the later ones default to None and msgspec omits them when they still hold the default.
  const hasExtraKeys = isPresent(event.extraKeys);
  const hasGroupIdx = isPresent(event.groupIdx);
  const hasSpecKind = isPresent(event.kvCacheSpecKind);
  const hasSlidingWindow = isPresent(event.kvCacheSpecSlidingWindow);
  const optionalCount =
    Number(hasExtraKeys) + Number(hasGroupIdx) + Number(hasSpecKind) + Number(hasSlidingWindow);
  writer.writeMapHeader(8 + optionalCount);
  writer.writeString('type');
  writer.writeString(event.type);
  writer.writeString('block_hashes');
  writeBlockHashes(writer, event.blockHashes);
  writer.writeString('parent_block_hash');
  writeOptionalBlockHash(writer, event.parentBlockHash);
  writer.writeString('token_ids');
  writeTokenIds(writer, event.tokenIds);
  writer.writeString('block_size');
  writer.writeInteger(event.blockSize);
  writer.writeString('lora_id');
  writeOptionalInteger(writer, event.loraId);
  writer.writeString('medium');
  writeOptionalString(writer, event.medium);
  writer.writeString('lora_name');
  writeOptionalString(writer, event.loraName);
  if (hasExtraKeys) {
    writer.writeString('extra_keys');
    writeExtraKeys(writer, event.extraKeys);
  }
  if (hasGroupIdx) {
    writer.writeString('group_idx');
    writeOptionalInteger(writer, event.groupIdx);
  }
  if (hasSpecKind) {
    writer.writeString('kv_cache_spec_kind');
    writeOptionalString(writer, event.kvCacheSpecKind);
  }
  if (hasSlidingWindow) {
    writer.writeString('kv_cache_spec_sliding_window');
    writeOptionalInteger(writer, event.kvCacheSpecSlidingWindow);
  }
}

function writeBlockRemovedAsMap(writer: MsgpackWriter, event: BlockRemovedEvent): void {
  const hasGroupIdx = isPresent(event.groupIdx);
  writer.writeMapHeader(hasGroupIdx ? 4 : 3);
  writer.writeString('type');
  writer.writeString(event.type);
  writer.writeString('block_hashes');
  writeBlockHashes(writer, event.blockHashes);
  writer.writeString('medium');
  writeOptionalString(writer, event.medium);
  if (hasGroupIdx) {
    writer.writeString('group_idx');
    writeOptionalInteger(writer, event.groupIdx);
  }
}

function isPresent<Value>(value: Value | null | undefined): value is Value {
  return value !== null && value !== undefined;
}

function writeOptionalInteger(writer: MsgpackWriter, value: number | null | undefined): void {
  if (isPresent(value)) writer.writeInteger(value);
  else writer.writeNil();
}

function writeOptionalString(writer: MsgpackWriter, value: string | null | undefined): void {
  if (isPresent(value)) writer.writeString(value);
  else writer.writeNil();
}

/**
 * Hashes are 64-bit patterns: vLLM sends them unsigned, but a caller holding a signed int64 (as
 * older engines and SGLang produce) means the same bits, so it is reinterpreted rather than refused.
 */
function writeBlockHash(writer: MsgpackWriter, hash: bigint): void {
  if (hash < minInt64 || hash > maxUint64) {
    throw new InvalidArgumentError(`block hash ${hash} is not a 64-bit value`, { path: 'blockHashes' });
  }
  writer.writeInteger(BigInt.asUintN(64, hash));
}

function writeOptionalBlockHash(writer: MsgpackWriter, hash: bigint | null): void {
  if (hash === null) writer.writeNil();
  else writeBlockHash(writer, hash);
}

function writeBlockHashes(writer: MsgpackWriter, hashes: ReadonlyArray<bigint>): void {
  writer.writeArrayHeader(hashes.length);
  for (const hash of hashes) writeBlockHash(writer, hash);
}

function writeTokenIds(writer: MsgpackWriter, tokenIds: ReadonlyArray<number>): void {
  writer.writeArrayHeader(tokenIds.length);
  for (const tokenId of tokenIds) writer.writeInteger(tokenId);
}

function writeExtraKeys(writer: MsgpackWriter, extraKeys: BlockStoredEvent['extraKeys']): void {
  if (!isPresent(extraKeys)) {
    writer.writeNil();
    return;
  }
  writer.writeArrayHeader(extraKeys.length);
  for (const blockKeys of extraKeys) writer.writeValue(blockKeys);
}

function unknownEventType(event: never): InvalidArgumentError {
  const type = (event as { type?: unknown }).type;
  return new InvalidArgumentError(`unknown KV event type ${JSON.stringify(type)}`, { path: 'events' });
}
