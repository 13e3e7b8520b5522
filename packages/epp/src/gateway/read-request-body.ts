import type { IncomingMessage } from 'node:http';

export type RequestBodyResult =
  /** `body` is undefined when the request carried no bytes (body-less, as Envoy's `end_of_stream` on headers). */
  | { readonly kind: 'complete'; readonly body: Uint8Array | undefined }
  /** Over the limit: by the declared `content-length` (nothing read) or by the bytes counted so far. */
  | { readonly kind: 'too-large'; readonly declaredBytes: number | undefined }
  /** The client went away (or the socket failed) before the body ended. */
  | { readonly kind: 'aborted' };

/**
 * Buffer a request body of at most `maximumBytes`. A declared `content-length` over the limit is
 * refused before anything is read; a chunked body is refused as soon as the counted bytes pass it,
 * so memory per request never exceeds the limit plus one socket chunk.
 */
export function readRequestBody(request: IncomingMessage, maximumBytes: number): Promise<RequestBodyResult> {
  const declared = request.headers['content-length'];
  if (declared !== undefined) {
    const declaredBytes = Number(declared);
    if (Number.isFinite(declaredBytes) && declaredBytes > maximumBytes)
      return Promise.resolve({ kind: 'too-large', declaredBytes });
    if (declaredBytes === 0) return Promise.resolve({ kind: 'complete', body: undefined });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: RequestBodyResult) => {
      if (settled) return;
      settled = true;
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onAborted);
      request.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maximumBytes) {
        chunks.length = 0;
        // Leave the stream paused: the caller answers 413 and decides how to discard the rest.
        request.pause();
        settle({ kind: 'too-large', declaredBytes: undefined });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      settle({
        kind: 'complete',
        body:
          size === 0 ? undefined : chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size),
      });
    };
    const onAborted = () => settle({ kind: 'aborted' });
    const onClose = () => {
      if (!request.complete) settle({ kind: 'aborted' });
    };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onAborted);
    request.on('close', onClose);
  });
}
