import { headerNames, routingHeaderNames } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { clientRequestHeaders, clientResponseHeaders, upstreamRequestHeaders } from './proxy-headers.js';

describe('clientRequestHeaders', () => {
  it('removes every routing header and joins repeated values', () => {
    const headers = clientRequestHeaders({
      ...Object.fromEntries(routingHeaderNames.map((name) => [name, '6.6.6.6:1'])),
      'x-forwarded-for': ['1.1.1.1', '2.2.2.2'],
      cookie: ['a=1', 'b=2'] as unknown as string,
      authorization: 'Bearer k',
    });
    expect(headers).toEqual({
      'x-forwarded-for': '1.1.1.1, 2.2.2.2',
      cookie: 'a=1; b=2',
      authorization: 'Bearer k',
    });
  });
});

describe('upstreamRequestHeaders', () => {
  const base = { headersToSet: {}, headersToRemove: [], requestId: 'generated-id', bodyLength: 42 };

  it('drops hop-by-hop, connection-listed and recomputed headers and sets content-length', () => {
    const headers = upstreamRequestHeaders({
      ...base,
      clientHeaders: {
        connection: 'keep-alive, X-Private',
        'x-private': 'hop',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        te: 'trailers',
        upgrade: 'h2c',
        host: 'gateway:80',
        'content-length': '7',
        expect: '100-continue',
        'accept-encoding': 'gzip',
        'content-type': 'application/json',
      },
    });
    expect(headers).toEqual({
      'content-type': 'application/json',
      'content-length': '42',
      'x-request-id': 'generated-id',
    });
  });

  it('removes, then sets the pipeline headers (its own routing headers included), keeping the client request id', () => {
    const headers = upstreamRequestHeaders({
      clientHeaders: { 'x-request-id': 'client-id', 'x-drop-me': '1' },
      headersToSet: { 'X-Prefiller-Host-Port': '10.0.0.1:8000', connection: 'close', 'content-length': '1' },
      headersToRemove: ['X-Drop-Me'],
      requestId: 'generated-id',
      bodyLength: undefined,
    });
    expect(headers).toEqual({
      'x-request-id': 'client-id',
      [headerNames.prefillerHostPort]: '10.0.0.1:8000',
    });
  });
});

describe('clientResponseHeaders', () => {
  it('drops hop-by-hop headers and content-length, keeps multi-value headers, adds plugin headers', () => {
    const headers = clientResponseHeaders(
      {
        'content-type': 'text/event-stream',
        'content-length': '100',
        connection: 'keep-alive, x-hop',
        'x-hop': '1',
        'transfer-encoding': 'chunked',
        'set-cookie': ['a=1', 'b=2'],
      },
      { 'x-session-token': 'token', 'Transfer-Encoding': 'gzip' },
    );
    expect(headers).toEqual({
      'content-type': 'text/event-stream',
      'set-cookie': ['a=1', 'b=2'],
      'x-session-token': 'token',
    });
  });
});
