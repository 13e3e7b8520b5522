/** A frame's bytes as UTF-8 text, without copying (frames are usually views into larger buffers). */
export function frameText(frame: Uint8Array): string {
  return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('utf8');
}
