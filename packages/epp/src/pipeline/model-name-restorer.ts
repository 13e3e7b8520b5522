const encoder = new TextEncoder();
const decoder = new TextDecoder();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Rewrites `"model":"<target>"` back to the name the client asked for, in response bodies and SSE
 * chunks, so a model-name rewrite stays invisible to clients. Returns the input untouched (no
 * copy) when nothing matches.
 */
export function createModelNameRestorer(
  clientModel: string,
  targetModel: string,
): (chunk: Uint8Array) => Uint8Array {
  if (clientModel === targetModel || targetModel === '') return (chunk) => chunk;
  const pattern = new RegExp(`("model"\\s*:\\s*)${escapeRegExp(JSON.stringify(targetModel))}`, 'g');
  const replacement = `$1${JSON.stringify(clientModel).replace(/\$/g, '$$$$')}`;
  const needle = encoder.encode(targetModel);
  return (chunk) => {
    if (Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).indexOf(needle) < 0) return chunk;
    const text = decoder.decode(chunk);
    const rewritten = text.replace(pattern, replacement);
    return rewritten === text ? chunk : encoder.encode(rewritten);
  };
}
