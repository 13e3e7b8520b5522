import { describe, expect, it } from 'vitest';
import { BoundedFifo } from './bounded-fifo.js';

describe('BoundedFifo', () => {
  it('refuses pushes beyond capacity and keeps FIFO order across wrap-around', () => {
    const fifo = new BoundedFifo<number>(3);
    expect([fifo.push(1), fifo.push(2), fifo.push(3), fifo.push(4)]).toEqual([true, true, true, false]);
    expect(fifo.shift()).toBe(1);
    expect(fifo.push(5)).toBe(true);
    expect([...fifo]).toEqual([2, 3, 5]);
    expect([fifo.shift(), fifo.shift(), fifo.shift(), fifo.shift()]).toEqual([2, 3, 5, undefined]);
    expect(fifo.length).toBe(0);
  });

  it('evicts the oldest item when asked to', () => {
    const fifo = new BoundedFifo<number>(2);
    expect(fifo.pushEvictingOldest(1)).toBeUndefined();
    expect(fifo.pushEvictingOldest(2)).toBeUndefined();
    expect(fifo.pushEvictingOldest(3)).toBe(1);
    expect([...fifo]).toEqual([2, 3]);
  });

  it('grows past its initial allocation while preserving order', () => {
    const fifo = new BoundedFifo<number>(1000);
    for (let value = 0; value < 10; value += 1) fifo.push(value);
    for (let value = 0; value < 5; value += 1) fifo.shift();
    for (let value = 10; value < 100; value += 1) fifo.push(value);
    expect([...fifo]).toEqual(Array.from({ length: 95 }, (_, index) => index + 5));
    fifo.clear();
    expect(fifo.length).toBe(0);
  });

  it('rejects a non-positive capacity', () => {
    expect(() => new BoundedFifo(0)).toThrow(/positive integer/);
  });
});
