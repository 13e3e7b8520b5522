import { InvalidArgumentError } from '@llmd/core';

/**
 * Bounds how many replays run at once (kv-events.md §8 #3): after an indexer restart every
 * publisher asks for a replay of up to `buffer_steps` batches, and running them all together would
 * flood the network and the event loop. Waiters are served first come, first served.
 */
export class ReplaySlots {
  readonly limit: number;
  private running = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new InvalidArgumentError(`the replay concurrency limit must be a positive integer, got ${limit}`);
    }
    this.limit = limit;
  }

  get active(): number {
    return this.running;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * Resolves with a release function once a slot is free, or with undefined if `signal` aborts
   * first. The release function is idempotent.
   */
  acquire(signal?: AbortSignal): Promise<(() => void) | undefined> {
    if (signal?.aborted) return Promise.resolve(undefined);
    if (this.running < this.limit) {
      this.running += 1;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', giveUp);
        this.running += 1;
        resolve(this.releaser());
      };
      const giveUp = (): void => {
        const position = this.waiters.indexOf(grant);
        if (position >= 0) this.waiters.splice(position, 1);
        resolve(undefined);
      };
      this.waiters.push(grant);
      signal?.addEventListener('abort', giveUp, { once: true });
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running -= 1;
      this.waiters.shift()?.();
    };
  }
}
