/** Token usage reported by the model server. */
export interface ResponseUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly cachedTokens: number | undefined;
}

const maxBufferedBytes = 1 << 20;
const maxLineBytes = 64 * 1024;

function usageOf(value: unknown): ResponseUsage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const usage = (value as { usage?: unknown }).usage;
  if (typeof usage !== 'object' || usage === null) return undefined;
  const record = usage as Record<string, unknown>;
  const details = record.prompt_tokens_details as Record<string, unknown> | null | undefined;
  return {
    promptTokens: typeof record.prompt_tokens === 'number' ? record.prompt_tokens : 0,
    completionTokens: typeof record.completion_tokens === 'number' ? record.completion_tokens : 0,
    cachedTokens: typeof details?.cached_tokens === 'number' ? details.cached_tokens : undefined,
  };
}

/**
 * Finds `usage` in a response without holding it all: a JSON body is buffered up to 1 MiB, an SSE
 * stream is scanned line by line (the usage chunk comes last).
 */
export class UsageTracker {
  #streaming = false;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #pendingLine = '';
  #usage: ResponseUsage | undefined;

  setStreaming(streaming: boolean): void {
    this.#streaming = streaming;
  }

  push(chunk: Uint8Array): void {
    if (this.#streaming) {
      const text =
        this.#pendingLine + Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8');
      const lines = text.split('\n');
      this.#pendingLine = (lines.pop() ?? '').slice(-maxLineBytes);
      for (const line of lines) this.#scanLine(line);
      return;
    }
    if (this.#bytes + chunk.byteLength > maxBufferedBytes) {
      this.#chunks = [];
      this.#bytes = Number.POSITIVE_INFINITY;
      return;
    }
    this.#chunks.push(Buffer.from(chunk));
    this.#bytes += chunk.byteLength;
  }

  finish(): ResponseUsage | undefined {
    if (this.#streaming) {
      if (this.#pendingLine) this.#scanLine(this.#pendingLine);
      this.#pendingLine = '';
    } else if (Number.isFinite(this.#bytes) && this.#chunks.length > 0) {
      try {
        this.#usage = usageOf(JSON.parse(Buffer.concat(this.#chunks).toString('utf8')));
      } catch {
        // Not JSON: no usage to report.
      }
      this.#chunks = [];
    }
    return this.#usage;
  }

  #scanLine(line: string): void {
    if (!line.startsWith('data:') || !line.includes('"usage"')) return;
    const payload = line.slice(5).trim();
    if (payload === '[DONE]') return;
    try {
      const usage = usageOf(JSON.parse(payload));
      if (usage) this.#usage = usage;
    } catch {
      // A partial or foreign line: ignore.
    }
  }
}
