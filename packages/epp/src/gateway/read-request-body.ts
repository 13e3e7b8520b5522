import type { IncomingMessage } from 'node:http';

export type RequestBodyResult =
  /** `body` is undefined when the request carried no bytes (body-less, as Envoy's `end_of_stream` on headers). */
  | { readonly kind: 'complete'; readonly body: Uint8Array | undefined }
  /** Over the limit: by the declared `content-length` (nothing read) or by the bytes counted so far. */
  | { readonly kind: 'too-large'; readonly declaredBytes: number | undefined }
  /** The client went away (or the socket failed) before the body ended. */
  | { readonly kind: 'aborted' };

/** Collects one body; its state lives here instead of in per-request closures. */
class BodyCollector {
  readonly #request: IncomingMessage;
  readonly #maximumBytes: number;
  readonly #resolve: (result: RequestBodyResult) => void;
  #first: Buffer | undefined = undefined;
  #more: Buffer[] | undefined = undefined;
  #size = 0;
  #settled = false;

  constructor(request: IncomingMessage, maximumBytes: number, resolve: (result: RequestBodyResult) => void) {
    this.#request = request;
    this.#maximumBytes = maximumBytes;
    this.#resolve = resolve;
  }

  data(chunk: Buffer): void {
    if (this.#settled) return;
    this.#size += chunk.length;
    if (this.#size > this.#maximumBytes) {
      this.#first = undefined;
      this.#more = undefined;
      // Leave the stream paused: the caller answers 413 and decides how to discard the rest.
      this.#request.pause();
      this.#settle({ kind: 'too-large', declaredBytes: undefined });
      return;
    }
    // Small bodies come in one chunk: keep that one without an array or a copy.
    if (this.#first === undefined) this.#first = chunk;
    else if (this.#more === undefined) this.#more = [this.#first, chunk];
    else this.#more.push(chunk);
  }

  end(): void {
    const size = this.#size;
    this.#settle({
      kind: 'complete',
      body: size === 0 ? undefined : this.#more ? Buffer.concat(this.#more, size) : this.#first,
    });
  }

  closed(): void {
    if (!this.#request.complete) this.#settle({ kind: 'aborted' });
  }

  failed(): void {
    this.#settle({ kind: 'aborted' });
  }

  #settle(result: RequestBodyResult): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve(result);
  }
}

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
    const collector = new BodyCollector(request, maximumBytes, resolve);
    // The listeners stay attached after settling (the collector ignores late events): removing
    // them costs more than the request object they die with.
    request.on('data', (chunk: Buffer) => collector.data(chunk));
    request.on('end', () => collector.end());
    request.on('error', () => collector.failed());
    request.on('close', () => collector.closed());
  });
}
