import { InvalidArgumentError } from '@llmd/core';

/**
 * Lets one occurrence per key through per interval, so a publisher sending garbage on every step
 * produces one log line a minute instead of thousands, while other keys (endpoints) keep logging.
 */
export class PerKeyThrottle {
  private readonly intervalMilliseconds: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, { allowedAt: number; suppressed: number }>();

  constructor(intervalMilliseconds: number, now: () => number) {
    if (!Number.isFinite(intervalMilliseconds) || intervalMilliseconds < 0) {
      throw new InvalidArgumentError(
        `throttle interval must be a non-negative number, got ${intervalMilliseconds}`,
      );
    }
    this.intervalMilliseconds = intervalMilliseconds;
    this.now = now;
  }

  /**
   * Undefined when this occurrence must be suppressed; otherwise how many occurrences were
   * suppressed since the last one let through (worth including in the log line).
   */
  attempt(key: string): { suppressed: number } | undefined {
    const time = this.now();
    const entry = this.entries.get(key);
    if (entry !== undefined && time - entry.allowedAt < this.intervalMilliseconds) {
      entry.suppressed += 1;
      return undefined;
    }
    this.entries.set(key, { allowedAt: time, suppressed: 0 });
    return { suppressed: entry?.suppressed ?? 0 };
  }

  /** Drops a key's state, e.g. when its endpoint goes away, so the map stays bounded. */
  forget(key: string): void {
    this.entries.delete(key);
  }
}
