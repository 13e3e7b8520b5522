import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

function isMissingScriptError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * A Lua script run by digest (EVALSHA) so the source crosses the network only when the server does
 * not know it yet (first use, after a restart or a SCRIPT FLUSH).
 */
export class RedisScript {
  readonly digest: string;

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.digest = createHash('sha1').update(source).digest('hex');
  }

  async run(client: Redis, keys: ReadonlyArray<string>, args: ReadonlyArray<string>): Promise<unknown> {
    // `call` takes one array, so large stores do not hit the JavaScript argument-count limit.
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await client.call('EVALSHA', [this.digest, ...tail]);
    } catch (error) {
      if (!isMissingScriptError(error)) throw error;
      return await client.call('EVAL', [this.source, ...tail]);
    }
  }
}
