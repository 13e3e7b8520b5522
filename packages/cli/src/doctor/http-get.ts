import { describeNetworkError } from './describe-network-error.js';

export type HttpGetResult =
  | { readonly kind: 'response'; readonly status: number; readonly body: string; readonly truncated: boolean }
  | { readonly kind: 'error'; readonly reason: string };

export interface HttpGetOptions {
  readonly timeoutMilliseconds: number;
  /** Bodies are cut here: a misconfigured target must not make the doctor read without bound. */
  readonly maximumBytes?: number;
}

/** GET a URL; network failures come back as a plain-words reason rather than an exception. */
export async function httpGet(url: string, options: HttpGetOptions): Promise<HttpGetResult> {
  const maximumBytes = options.maximumBytes ?? 16 * 1024 * 1024;
  const signal = AbortSignal.timeout(options.timeoutMilliseconds);
  try {
    const response = await fetch(url, { signal, headers: { accept: 'text/plain, application/json' } });
    const chunks: Uint8Array[] = [];
    let size = 0;
    let truncated = false;
    if (response.body) {
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (size + value.length > maximumBytes) {
          chunks.push(value.subarray(0, maximumBytes - size));
          truncated = true;
          await reader.cancel();
          break;
        }
        chunks.push(value);
        size += value.length;
      }
    }
    return {
      kind: 'response',
      status: response.status,
      body: Buffer.concat(chunks).toString('utf8'),
      truncated,
    };
  } catch (error) {
    return { kind: 'error', reason: describeNetworkError(error, options.timeoutMilliseconds) };
  }
}
