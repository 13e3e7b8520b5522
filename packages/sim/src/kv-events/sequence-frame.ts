import { InvalidArgumentError } from '@llmd/core';

/**
 * The sequence number a replay response ends with: vLLM's `END_SEQ = -1` written as eight `0xff`
 * bytes, which is also the largest uint64, so it can never collide with a real batch.
 */
export const endOfReplaySequence = 0xffff_ffff_ffff_ffffn;

/** Frame 1 of every KV-event message: the batch sequence number as 8 bytes, big-endian unsigned. */
export function encodeSequenceFrame(sequence: number | bigint): Buffer {
  const value = BigInt(sequence);
  if (value < 0n || value > endOfReplaySequence) {
    throw new InvalidArgumentError(`sequence number ${value} is not a uint64`);
  }
  const frame = Buffer.alloc(8);
  frame.writeBigUInt64BE(value);
  return frame;
}

/** Reads an 8-byte big-endian sequence frame; `undefined` when the frame has another length. */
export function decodeSequenceFrame(frame: Uint8Array): bigint | undefined {
  if (frame.length !== 8) return undefined;
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getBigUint64(0);
}
