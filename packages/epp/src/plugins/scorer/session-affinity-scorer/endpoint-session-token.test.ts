import { createEndpoint } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { decodeEndpointSessionToken, encodeEndpointSessionToken } from './endpoint-session-token.js';

describe('endpoint session token', () => {
  it('is base64 of namespace/name and decodes back', () => {
    const endpoint = createEndpoint({ address: '10.0.0.1', port: 8000, name: 'vllm-0', namespace: 'llm' });
    const token = encodeEndpointSessionToken(endpoint);
    expect(token).toBe(Buffer.from('llm/vllm-0').toString('base64'));
    expect(decodeEndpointSessionToken(token)).toEqual({ namespace: 'llm', name: 'vllm-0' });
  });

  it('treats empty, non-base64 and separator-less tokens as no session', () => {
    expect(decodeEndpointSessionToken(undefined)).toBeUndefined();
    expect(decodeEndpointSessionToken('')).toBeUndefined();
    expect(decodeEndpointSessionToken('not base64!')).toBeUndefined();
    expect(decodeEndpointSessionToken('bGxt')).toBeUndefined(); // "llm", no slash
  });
});
