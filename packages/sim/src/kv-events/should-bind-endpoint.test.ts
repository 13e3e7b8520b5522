import { describe, expect, it } from 'vitest';
import { shouldBindEndpoint } from './should-bind-endpoint.js';

describe('shouldBindEndpoint', () => {
  it('binds wildcards, the IPv6 any-address and local transports; connects to named peers', () => {
    expect(shouldBindEndpoint('tcp://*:5557')).toBe(true);
    expect(shouldBindEndpoint('tcp://127.0.0.1:*')).toBe(true);
    expect(shouldBindEndpoint('tcp://[::]:5557')).toBe(true);
    expect(shouldBindEndpoint('ipc:///tmp/kv-events')).toBe(true);
    expect(shouldBindEndpoint('inproc://kv-events')).toBe(true);
    expect(shouldBindEndpoint('tcp://epp-svc:5557')).toBe(false);
    expect(shouldBindEndpoint('tcp://127.0.0.1:5557')).toBe(false);
  });
});
