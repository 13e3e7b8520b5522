/**
 * Static endpoint lists: parsing `ip:port` lists and filling the datastore.
 */
import { LlmdError } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { Datastore } from './datastore.js';
import { parseEndpointList, StaticDiscovery } from './static-discovery.js';

describe('parseEndpointList', () => {
  it('splits on commas and whitespace and accepts bracketed IPv6', () => {
    expect(parseEndpointList('10.0.0.1:8000,10.0.0.2:8000')).toEqual([
      { address: '10.0.0.1', port: 8000 },
      { address: '10.0.0.2', port: 8000 },
    ]);
    expect(parseEndpointList(' 10.0.0.1:8000 ,\n[fd00::1]:8001, ')).toEqual([
      { address: '10.0.0.1', port: 8000 },
      { address: 'fd00::1', port: 8001 },
    ]);
    expect(parseEndpointList('')).toEqual([]);
  });

  it('names the bad entry', () => {
    expect(() => parseEndpointList('10.0.0.1:8000,10.0.0.2')).toThrow(/entry 2 "10.0.0.2"/);
    try {
      parseEndpointList('10.0.0.1:99999');
    } catch (error) {
      expect(LlmdError.isInstance(error) && error.code).toBe('invalid_argument');
    }
  });
});

describe('StaticDiscovery', () => {
  it('fills the datastore with labelled endpoints and marks it synced', async () => {
    const discovery = new StaticDiscovery({
      endpoints: [
        ...parseEndpointList('10.0.0.1:8000,10.0.0.2:8000'),
        '127.0.0.1:9000',
        { address: '10.0.0.3', port: 8000, name: 'prefill-0', labels: { 'llm-d.ai/role': 'prefill' } },
      ],
      labels: { 'llm-d.ai/role': 'decode', 'llm-d.ai/engine-type': 'sglang' },
      namespace: 'llm',
    });
    const datastore = new Datastore();
    await discovery.start(datastore);
    expect(datastore.synced).toBe(true);
    const states = datastore.snapshot();
    expect(states.map((state) => state.endpoint.key)).toEqual([
      '10.0.0.1:8000',
      '10.0.0.2:8000',
      '127.0.0.1:9000',
      '10.0.0.3:8000',
    ]);
    expect(states[0]?.endpoint).toMatchObject({
      name: '10.0.0.1:8000',
      namespace: 'llm',
      role: 'decode',
      engineType: 'sglang',
    });
    expect(states[3]?.endpoint).toMatchObject({ name: 'prefill-0', role: 'prefill', engineType: 'sglang' });
    await discovery.stop();
  });

  it('rejects bad and duplicate entries at construction, naming them', () => {
    expect(() => new StaticDiscovery({ endpoints: ['10.0.0.1:8000', 'nonsense'] })).toThrow(
      /static endpoint 2 "nonsense"/,
    );
    expect(() => new StaticDiscovery({ endpoints: [{ address: '10.0.0.1', port: 0 }] })).toThrow(
      /static endpoint 1 port/,
    );
    expect(
      () => new StaticDiscovery({ endpoints: ['10.0.0.1:8000', { address: '10.0.0.1', port: 8000 }] }),
    ).toThrow(/10.0.0.1:8000 is listed twice/);
  });
});
