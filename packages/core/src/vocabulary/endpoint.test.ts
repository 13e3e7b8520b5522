import { describe, expect, it } from 'vitest';
import { createEndpoint, formatEndpointKey, parseEndpointKey } from './endpoint.js';

describe('endpoint identity', () => {
  it('keys endpoints by ip:port and reads role and engine from labels', () => {
    const endpoint = createEndpoint({
      address: '10.0.0.7',
      port: 8000,
      name: 'decode-0',
      namespace: 'llm',
      labels: { 'llm-d.ai/role': 'prefill', 'inference.networking.k8s.io/engine-type': 'sglang' },
    });
    expect(endpoint.key).toBe('10.0.0.7:8000');
    expect(endpoint.role).toBe('prefill');
    expect(endpoint.engineType).toBe('sglang');
    expect(Object.isFrozen(endpoint.labels)).toBe(true);
  });

  it('defaults: unlabelled endpoints have no role, vllm engine, default namespace', () => {
    const endpoint = createEndpoint({ address: '127.0.0.1', port: 9000 });
    expect(endpoint).toMatchObject({
      role: undefined,
      engineType: 'vllm',
      namespace: 'default',
      name: '127.0.0.1:9000',
    });
  });

  it('round-trips IPv4, host names and bracketed IPv6', () => {
    expect(parseEndpointKey('10.1.2.3:8200')).toEqual({ address: '10.1.2.3', port: 8200 });
    expect(parseEndpointKey('decode.svc:80')).toEqual({ address: 'decode.svc', port: 80 });
    expect(formatEndpointKey('fd00::1', 8000)).toBe('[fd00::1]:8000');
    expect(parseEndpointKey('[fd00::1]:8000')).toEqual({ address: 'fd00::1', port: 8000 });
  });

  it.each(['10.0.0.1', '10.0.0.1:0', '10.0.0.1:70000', ':80', 'a b:80', 'fd00::1:80'])(
    'rejects %j',
    (value) => {
      expect(() => parseEndpointKey(value)).toThrow(/not an endpoint address/);
    },
  );
});
