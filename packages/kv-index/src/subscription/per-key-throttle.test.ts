import { describe, expect, it } from 'vitest';
import { PerKeyThrottle } from './per-key-throttle.js';

describe('PerKeyThrottle', () => {
  it('lets one occurrence per key through per interval and counts the rest', () => {
    let time = 1_000;
    const throttle = new PerKeyThrottle(60_000, () => time);
    expect(throttle.attempt('a')).toEqual({ suppressed: 0 });
    expect(throttle.attempt('a')).toBeUndefined();
    expect(throttle.attempt('b')).toEqual({ suppressed: 0 });
    time += 59_999;
    expect(throttle.attempt('a')).toBeUndefined();
    time += 1;
    expect(throttle.attempt('a')).toEqual({ suppressed: 2 });
    throttle.forget('a');
    expect(throttle.attempt('a')).toEqual({ suppressed: 0 });
  });
});
