import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { headerNames, routingHeaderNames } from '@llmd/core';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1 plus the legacy ones proxies still strip): they describe one
 * connection, so a proxy never forwards them in either direction.
 */
export const hopByHopHeaderNames: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const routingHeaderSet: ReadonlySet<string> = new Set(routingHeaderNames);

/**
 * Request headers the gateway owns on the upstream hop: `host` and `content-length` are recomputed
 * for the chosen endpoint and the (possibly rewritten) body; `expect` was already answered when the
 * body was read; `accept-encoding` is dropped so the response stays plain text, because response
 * plugins parse usage and restore the model name on the bytes.
 */
const recomputedRequestHeaderNames: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'expect',
  'accept-encoding',
]);

/** Names a `Connection` header lists: also hop-by-hop for this one message. */
const noNames: ReadonlySet<string> = new Set();

function connectionListedNames(value: string | string[] | undefined): ReadonlySet<string> {
  if (value === undefined) return noNames;
  const joined = Array.isArray(value) ? value.join(',') : value;
  return new Set(
    joined
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token.length > 0),
  );
}

/**
 * The client's request headers as the pipeline sees them: names lower-cased, repeated values joined,
 * and every routing header removed — a client that could set `x-gateway-destination-endpoint` or
 * `x-prefiller-host-port` could pick its own backend or make a sidecar call an arbitrary host.
 */
export function clientRequestHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [rawName, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const name = rawName.toLowerCase();
    if (routingHeaderSet.has(name)) continue;
    result[name] = Array.isArray(value) ? value.join(name === 'cookie' ? '; ' : ', ') : value;
  }
  return result;
}

export interface UpstreamHeaderInput {
  /** From {@link clientRequestHeaders}. */
  readonly clientHeaders: Readonly<Record<string, string>>;
  readonly headersToSet: Readonly<Record<string, string>>;
  readonly headersToRemove: ReadonlyArray<string>;
  readonly requestId: string;
  /** Byte length of the body sent upstream; undefined for a body-less request. */
  readonly bodyLength: number | undefined;
}

/** The headers of the request sent to a model server. */
export function upstreamRequestHeaders(input: UpstreamHeaderInput): Record<string, string> {
  const connectionListed = connectionListedNames(input.clientHeaders.connection);
  const isGatewayOwned = (name: string) =>
    hopByHopHeaderNames.has(name) ||
    connectionListed.has(name) ||
    recomputedRequestHeaderNames.has(name) ||
    routingHeaderSet.has(name);

  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.clientHeaders)) {
    if (!isGatewayOwned(name)) result[name] = value;
  }
  for (const name of input.headersToRemove) delete result[name.toLowerCase()];
  // Routing headers are allowed here: this is the pipeline (P/D, E/P/D plugins) setting them.
  for (const [rawName, value] of Object.entries(input.headersToSet)) {
    const name = rawName.toLowerCase();
    if (hopByHopHeaderNames.has(name) || recomputedRequestHeaderNames.has(name)) continue;
    result[name] = value;
  }
  if (input.bodyLength !== undefined) result['content-length'] = String(input.bodyLength);
  // The model server logs (and with --enable-request-id-headers echoes) it: one id end to end.
  result[headerNames.requestId] ??= input.requestId;
  return result;
}

/** Upstream response headers flattened to one string per name, as response plugins receive them. */
export function flattenResponseHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    result[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return result;
}

/**
 * The headers of the response sent to the client. `content-length` is dropped because response
 * plugins may change the body's length (model-name restore); Node then frames the body chunked, or
 * computes the exact length when the whole body is written at once.
 */
export function clientResponseHeaders(
  upstream: IncomingHttpHeaders,
  added: Readonly<Record<string, string>>,
): OutgoingHttpHeaders {
  const connectionListed = connectionListedNames(upstream.connection);
  const result: OutgoingHttpHeaders = {};
  for (const [rawName, value] of Object.entries(upstream)) {
    if (value === undefined) continue;
    const name = rawName.toLowerCase();
    if (hopByHopHeaderNames.has(name) || connectionListed.has(name) || name === 'content-length') continue;
    result[name] = value;
  }
  for (const [rawName, value] of Object.entries(added)) {
    const name = rawName.toLowerCase();
    if (hopByHopHeaderNames.has(name) || name === 'content-length') continue;
    result[name] = value;
  }
  return result;
}
