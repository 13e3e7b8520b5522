import { describe, expect, it } from 'vitest';
import { SessionBindings } from './session-bindings.js';

const options = { ttlMilliseconds: 1000, sweepIntervalMilliseconds: 100, maxSessions: 3 };

describe('SessionBindings', () => {
  it('binds, re-binds and counts sessions per endpoint', () => {
    const bindings = new SessionBindings(options);
    bindings.bind('s1', 'a:1', 0);
    bindings.bind('s2', 'a:1', 0);
    expect(bindings.boundEndpoint('s1', 10)).toBe('a:1');
    expect(bindings.sessionCount('a:1')).toBe(2);
    bindings.bind('s2', 'b:1', 20);
    expect(bindings.sessionCount('a:1')).toBe(1);
    expect(bindings.sessionCount('b:1')).toBe(1);
    bindings.bind('s2', 'b:1', 30);
    expect(bindings.sessionCount('b:1')).toBe(1);
    expect(bindings.boundEndpoint('unknown', 30)).toBeUndefined();
  });

  it('expires a binding unused for longer than the TTL; using it refreshes it', () => {
    const bindings = new SessionBindings(options);
    bindings.bind('s1', 'a:1', 0);
    bindings.bind('s1', 'a:1', 900);
    expect(bindings.boundEndpoint('s1', 1900)).toBe('a:1');
    expect(bindings.boundEndpoint('s1', 1901)).toBeUndefined();
    expect(bindings.sessionCount('a:1')).toBe(0);
    expect(bindings.size).toBe(0);
  });

  it('sweeps expired bindings on any lookup once the sweep interval has passed', () => {
    const bindings = new SessionBindings(options);
    bindings.bind('old', 'a:1', 0);
    bindings.bind('young', 'b:1', 800);
    expect(bindings.boundEndpoint('other', 1500)).toBeUndefined();
    expect(bindings.size).toBe(1);
    expect(bindings.sessionCount('a:1')).toBe(0);
    expect(bindings.boundEndpoint('young', 1500)).toBe('b:1');
  });

  it('drops the least recently used session beyond maxSessions', () => {
    const bindings = new SessionBindings(options);
    bindings.bind('s1', 'a:1', 0);
    bindings.bind('s2', 'a:1', 1);
    bindings.bind('s3', 'a:1', 2);
    bindings.bind('s1', 'a:1', 3);
    bindings.bind('s4', 'b:1', 4);
    expect(bindings.size).toBe(3);
    expect(bindings.boundEndpoint('s2', 5)).toBeUndefined();
    expect(bindings.boundEndpoint('s1', 5)).toBe('a:1');
    expect(bindings.sessionCount('a:1')).toBe(2);
  });
});
