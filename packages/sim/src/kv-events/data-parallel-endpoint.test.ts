import { InvalidArgumentError } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { dataParallelEndpoint } from './data-parallel-endpoint.js';

describe('dataParallelEndpoint', () => {
  it('offsets tcp ports by the rank and keeps rank 0 unchanged', () => {
    expect(dataParallelEndpoint('tcp://*:5557', 0)).toBe('tcp://*:5557');
    expect(dataParallelEndpoint('tcp://*:5557', 3)).toBe('tcp://*:5560');
    expect(dataParallelEndpoint('tcp://epp-svc:5557', 1)).toBe('tcp://epp-svc:5558');
    expect(dataParallelEndpoint('tcp://[::1]:5557', 2)).toBe('tcp://[::1]:5559');
  });

  it('suffixes local transports and leaves wildcard ports alone', () => {
    expect(dataParallelEndpoint('inproc://kv', 0)).toBe('inproc://kv');
    expect(dataParallelEndpoint('inproc://kv', 2)).toBe('inproc://kv_dp2');
    expect(dataParallelEndpoint('ipc:///tmp/kv', 1)).toBe('ipc:///tmp/kv_dp1');
    expect(dataParallelEndpoint('tcp://127.0.0.1:*', 1)).toBe('tcp://127.0.0.1:*');
    expect(dataParallelEndpoint('tcp://127.0.0.1:0', 1)).toBe('tcp://127.0.0.1:0');
  });

  it('rejects bad ranks, unknown transports and ports pushed past 65535', () => {
    expect(() => dataParallelEndpoint('tcp://*:5557', -1)).toThrow(InvalidArgumentError);
    expect(() => dataParallelEndpoint('tcp://*:5557', 1.5)).toThrow(/non-negative integer/);
    expect(() => dataParallelEndpoint('udp://host:5557', 1)).toThrow(/tcp:\/\//);
    expect(() => dataParallelEndpoint('tcp://*:65535', 1)).toThrow(/65535/);
    expect(() => dataParallelEndpoint('tcp://host:http', 1)).toThrow(/numeric/);
  });
});
