import type { FlowControllerTimers } from './flow-controller.js';

interface PendingTimer {
  readonly at: number;
  readonly callback: () => void;
}

/**
 * A clock and timer source that only moves when told to, for deterministic tests of a
 * {@link FlowController} (and of custom policies driven through one).
 */
export class ManualClock {
  #now: number;
  #nextId = 1;
  readonly #pending = new Map<number, PendingTimer>();

  constructor(start = 0) {
    this.#now = start;
  }

  readonly now = (): number => this.#now;

  readonly timers: FlowControllerTimers = {
    setTimeout: (callback, milliseconds) => {
      const id = this.#nextId++;
      this.#pending.set(id, { at: this.#now + Math.max(0, milliseconds), callback });
      return id;
    },
    clearTimeout: (handle) => {
      this.#pending.delete(handle as number);
    },
  };

  /** Timers scheduled and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#pending.size;
  }

  /** Moves time forward, firing due timers in order (each at its own time). */
  advance(milliseconds: number): void {
    const target = this.#now + milliseconds;
    for (;;) {
      let dueId: number | undefined;
      let due: PendingTimer | undefined;
      for (const [id, timer] of this.#pending) {
        if (timer.at <= target && (due === undefined || timer.at < due.at)) {
          dueId = id;
          due = timer;
        }
      }
      if (dueId === undefined || due === undefined) break;
      this.#pending.delete(dueId);
      this.#now = Math.max(this.#now, due.at);
      due.callback();
    }
    this.#now = target;
  }
}
