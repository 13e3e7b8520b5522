import { describe, expect, it } from 'vitest';
import { BoundedQueue } from './bounded-queue.js';

describe('BoundedQueue', () => {
  it('keeps FIFO order and refuses items beyond its capacity', () => {
    const queue = new BoundedQueue<number>(2);
    expect([queue.push(1), queue.push(2), queue.push(3)]).toEqual([true, true, false]);
    expect(queue.shift()).toBe(1);
    expect(queue.push(4)).toBe(true);
    expect([queue.shift(), queue.shift(), queue.shift()]).toEqual([2, 4, undefined]);
    expect(queue.length).toBe(0);
  });

  it('stays in order across compaction', () => {
    const queue = new BoundedQueue<number>(5000);
    for (let value = 0; value < 3000; value += 1) queue.push(value);
    const shifted: number[] = [];
    for (let index = 0; index < 2000; index += 1) shifted.push(queue.shift() as number);
    for (let value = 3000; value < 4000; value += 1) queue.push(value);
    while (queue.length > 0) shifted.push(queue.shift() as number);
    expect(shifted).toEqual(Array.from({ length: 4000 }, (_, index) => index));
  });

  it('rejects a non-positive capacity', () => {
    expect(() => new BoundedQueue(0)).toThrow(/positive integer/);
  });
});
