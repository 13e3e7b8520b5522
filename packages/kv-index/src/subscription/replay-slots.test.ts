import { describe, expect, it } from 'vitest';
import { ReplaySlots } from './replay-slots.js';

describe('ReplaySlots', () => {
  it('grants at most `limit` slots and serves waiters in order', async () => {
    const slots = new ReplaySlots(1);
    const first = await slots.acquire();
    const order: string[] = [];
    const second = slots.acquire().then((release) => {
      order.push('second');
      return release;
    });
    const third = slots.acquire().then((release) => {
      order.push('third');
      return release;
    });
    expect([slots.active, slots.waiting]).toEqual([1, 2]);
    first?.();
    first?.();
    (await second)?.();
    (await third)?.();
    expect(order).toEqual(['second', 'third']);
    expect([slots.active, slots.waiting]).toEqual([0, 0]);
  });

  it('gives up waiting when aborted', async () => {
    const slots = new ReplaySlots(1);
    const held = await slots.acquire();
    const controller = new AbortController();
    const waiting = slots.acquire(controller.signal);
    controller.abort();
    expect(await waiting).toBeUndefined();
    expect(slots.waiting).toBe(0);
    held?.();
    expect(slots.active).toBe(0);
    expect(await slots.acquire(controller.signal)).toBeUndefined();
  });
});
