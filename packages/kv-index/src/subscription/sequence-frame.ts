/**
 * The sequence number that ends a replay: vLLM's `END_SEQ = -1` as eight `0xff` bytes, which is
 * also the largest uint64, so no real batch can carry it.
 */
export const endOfReplaySequence = 0xffff_ffff_ffff_ffffn;

/** Frame 1 of a KV-event message (and of a replay request): 8 bytes, big-endian unsigned. */
export function encodeSequenceFrame(sequence: bigint): Buffer {
  const frame = Buffer.alloc(8);
  frame.writeBigUInt64BE(BigInt.asUintN(64, sequence));
  return frame;
}

/** Reads an 8-byte big-endian sequence frame; `undefined` for any other length. */
export function decodeSequenceFrame(frame: Uint8Array): bigint | undefined {
  if (frame.length !== 8) return undefined;
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getBigUint64(0);
}
