/**
 * The largest body chunk per ext_proc message, as llm-d uses: it stays under the 64 KiB limit some
 * Envoy builds enforce on a single streamed body mutation.
 */
export const maxBodyChunkBytes = 62_000;

/**
 * Splits a body into chunks of at most `chunkBytes` (views, no copies). An empty body yields one
 * empty chunk, because Envoy still needs a message carrying `end_of_stream`.
 */
export function splitBody(body: Uint8Array, chunkBytes: number = maxBodyChunkBytes): Uint8Array[] {
  if (body.length === 0) return [body];
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < body.length; offset += chunkBytes) {
    chunks.push(body.subarray(offset, Math.min(offset + chunkBytes, body.length)));
  }
  return chunks;
}
