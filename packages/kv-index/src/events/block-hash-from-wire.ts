/**
 * A block hash as it arrives on the wire, normalised to its unsigned 64-bit pattern
 * (kv-events.md §2.1), or `undefined` when the value cannot be a hash.
 *
 * - integers (msgpack uint64, or a shorter form when small) are taken as they are;
 * - negative integers come from engines that send signed int64, so they are reinterpreted as the
 *   same 64 bits (`BigInt.asUintN`) rather than rejected;
 * - `bin` digests (`VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES=0`: 32 B sha256, 16 B xxhash) reduce to
 *   their last 8 bytes read big-endian, which is exactly what the integer form carries.
 */
export function blockHashFromWire(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return BigInt.asUintN(64, value);
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) ? BigInt.asUintN(64, BigInt(value)) : undefined;
  }
  if (value instanceof Uint8Array) {
    if (value.length === 0) return undefined;
    // `int.from_bytes(digest, "big") & (2**64 - 1)`: shorter digests are their own value.
    let hash = 0n;
    for (let index = Math.max(0, value.length - 8); index < value.length; index += 1) {
      hash = (hash << 8n) | BigInt(value[index] as number);
    }
    return hash;
  }
  return undefined;
}
