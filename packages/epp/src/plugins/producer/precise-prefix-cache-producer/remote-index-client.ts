import { LlmdError } from '@llmd/core';
import { z } from 'zod';

/** What `llmd index` answers on `POST /v1/score`. */
const scoreResponseSchema = z.object({
  blockSize: z.number().int().positive(),
  totalBlocks: z.number().int().min(0),
  scores: z.record(z.string(), z.number()),
});
export type RemoteScores = z.output<typeof scoreResponseSchema>;

const maxErrorBodyCharacters = 300;

/**
 * Scores token ids against a running `llmd index` over HTTP: `POST <url>/v1/score` with
 * `{model, tokens, endpoints}`. Failures throw `LlmdError` `internal` naming the URL (the
 * scheduler logs them and scores without prefix data).
 */
export function createRemoteIndexClient(baseUrl: string, timeoutMilliseconds: number) {
  const url = `${baseUrl.replace(/\/+$/, '')}/v1/score`;
  return {
    url,
    async score(
      tokens: ReadonlyArray<number>,
      model: string,
      endpoints: ReadonlyArray<string>,
      signal: AbortSignal,
    ): Promise<RemoteScores> {
      const timeout = AbortSignal.timeout(timeoutMilliseconds);
      let response: Response;
      let text: string;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model, tokens, endpoints }),
          signal: AbortSignal.any([signal, timeout]),
        });
        text = await response.text();
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        const reason = timeout.aborted
          ? `timed out after ${timeoutMilliseconds} ms`
          : `failed: ${(error as Error).message}`;
        throw new LlmdError('internal', `prefix index request POST ${url} ${reason}`, { cause: error });
      }
      if (!response.ok) {
        const excerpt =
          text.length > maxErrorBodyCharacters ? `${text.slice(0, maxErrorBodyCharacters)}…` : text;
        throw new LlmdError(
          'internal',
          `prefix index request POST ${url} returned ${response.status}: ${excerpt}`,
        );
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (error) {
        throw new LlmdError('internal', `prefix index response from ${url} is not JSON`, { cause: error });
      }
      const parsed = scoreResponseSchema.safeParse(body);
      if (!parsed.success)
        throw new LlmdError('internal', `prefix index response from ${url} is not a score`);
      return parsed.data;
    },
  };
}
