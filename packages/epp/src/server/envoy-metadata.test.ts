import { describe, expect, it } from 'vitest';
import { destinationMetadata, readServedEndpoint, readSubsetHint } from './envoy-metadata.js';
import { fromStructMessage, toStructMessage } from './struct-values.js';

const subsetHint = (value: Parameters<typeof toStructMessage>[0]) => ({
  filter_metadata: { 'envoy.lb.subset_hint': toStructMessage(value) },
});

describe('Envoy metadata', () => {
  it('reads the subset hint: absent, a list, an empty list, a comma-separated string', () => {
    expect(readSubsetHint(null)).toBeUndefined();
    expect(readSubsetHint({ filter_metadata: {} })).toBeUndefined();
    expect(readSubsetHint(subsetHint({ other: 'x' }))).toBeUndefined();
    expect(
      readSubsetHint(
        subsetHint({ 'x-gateway-destination-endpoint-subset': ['10.0.0.1:8000', 7, '10.0.0.2:8000'] }),
      ),
    ).toEqual(['10.0.0.1:8000', '10.0.0.2:8000']);
    expect(readSubsetHint(subsetHint({ 'x-gateway-destination-endpoint-subset': [] }))).toEqual([]);
    expect(
      readSubsetHint(subsetHint({ 'x-gateway-destination-endpoint-subset': '10.0.0.1:80, 10.0.0.2:80' })),
    ).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
  });

  it('reads the served endpoint from envoy.lb', () => {
    expect(readServedEndpoint(undefined)).toBeUndefined();
    expect(
      readServedEndpoint({
        filter_metadata: {
          'envoy.lb': toStructMessage({ 'x-gateway-destination-endpoint-served': '10.0.0.2:8000' }),
        },
      }),
    ).toBe('10.0.0.2:8000');
  });

  it('writes the destination, with scores only when given', () => {
    expect(fromStructMessage(destinationMetadata('a:1,b:2', undefined))).toEqual({
      'envoy.lb': { 'x-gateway-destination-endpoint': 'a:1,b:2' },
    });
    expect(fromStructMessage(destinationMetadata('a:1', { 'a:1': 0.5 }))).toEqual({
      'envoy.lb': {
        'x-gateway-destination-endpoint': 'a:1',
        'x-gateway-destination-endpoint-scores': { 'a:1': 0.5 },
      },
    });
  });
});
