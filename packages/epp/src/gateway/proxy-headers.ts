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

/** Every name the gateway drops from the client's headers on the upstream hop, in one lookup. */
const upstreamDroppedNames: ReadonlySet<string> = new Set([
  ...hopByHopHeaderNames,
  ...recomputedRequestHeaderNames,
  ...routingHeaderNames,
]);

const noNames: ReadonlySet<string> = new Set();

/** Names a `Connection` header lists: also hop-by-hop for this one message. */
function connectionListedNames(value: string | string[] | undefined): ReadonlySet<string> {
  if (value === undefined) return noNames;
  const joined = Array.isArray(value) ? value.join(',') : value;
  // The usual `keep-alive` / `close` lists nothing but standard hop-by-hop names.
  if (joined === 'keep-alive' || joined === 'close') return noNames;
  const names = new Set<string>();
  for (const token of joined.split(',')) {
    const name = token.trim().toLowerCase();
    if (name.length > 0) names.add(name);
  }
  return names;
}

// The loops below use `for…in` over header records on purpose: they run several times per proxied
// request, and unlike `Object.entries` they allocate nothing. Node and undici build these records
// as plain objects, so every enumerable key is an own header name.

/**
 * The client's request headers as the pipeline sees them: names lower-cased, repeated values joined,
 * and every routing header removed — a client that could set `x-gateway-destination-endpoint` or
 * `x-prefiller-host-port` could pick its own backend or make a sidecar call an arbitrary host.
 */
export function clientRequestHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const result: Record<string, string> = {};
  for (const rawName in headers) {
    const value = headers[rawName];
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
  const { clientHeaders, headersToSet, headersToRemove } = input;
  const connectionListed = connectionListedNames(clientHeaders.connection);
  const result: Record<string, string> = {};
  for (const name in clientHeaders) {
    if (upstreamDroppedNames.has(name) || connectionListed.has(name)) continue;
    result[name] = clientHeaders[name] as string;
  }
  for (const name of headersToRemove) {
    const lowerCased = name.toLowerCase();
    if (lowerCased in result) delete result[lowerCased];
  }
  // Routing headers are allowed here: this is the pipeline (P/D, E/P/D plugins) setting them.
  for (const rawName in headersToSet) {
    const name = rawName.toLowerCase();
    if (hopByHopHeaderNames.has(name) || recomputedRequestHeaderNames.has(name)) continue;
    result[name] = headersToSet[rawName] as string;
  }
  if (input.bodyLength !== undefined) result['content-length'] = String(input.bodyLength);
  // The model server logs (and with --enable-request-id-headers echoes) it: one id end to end.
  result[headerNames.requestId] ??= input.requestId;
  return result;
}

/**
 * Upstream response headers with one string per lower-cased name, as response plugins receive them.
 * undici already lower-cases names, so the usual all-single-valued record is returned as it is
 * (plugins get it read-only) instead of copied.
 */
export function flattenResponseHeaders(headers: IncomingHttpHeaders): Readonly<Record<string, string>> {
  let needsCopy = false;
  for (const name in headers) {
    if (typeof headers[name] !== 'string' || name !== name.toLowerCase()) {
      needsCopy = true;
      break;
    }
  }
  if (!needsCopy) return headers as Record<string, string>;
  const result: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    result[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return result;
}

/**
 * The headers of the response sent to the client. `content-length` is dropped because response
 * plugins may change the body's length (model-name restore); Node then frames the body chunked, or
 * the caller sets the exact length when it has the whole body.
 */
export function clientResponseHeaders(
  upstream: IncomingHttpHeaders,
  added: Readonly<Record<string, string>>,
): OutgoingHttpHeaders {
  const connectionListed = connectionListedNames(upstream.connection);
  const result: OutgoingHttpHeaders = {};
  for (const rawName in upstream) {
    const value = upstream[rawName];
    if (value === undefined) continue;
    const name = rawName.toLowerCase();
    if (hopByHopHeaderNames.has(name) || connectionListed.has(name) || name === 'content-length') continue;
    result[name] = value;
  }
  for (const rawName in added) {
    const name = rawName.toLowerCase();
    if (hopByHopHeaderNames.has(name) || name === 'content-length') continue;
    result[name] = added[rawName];
  }
  return result;
}
