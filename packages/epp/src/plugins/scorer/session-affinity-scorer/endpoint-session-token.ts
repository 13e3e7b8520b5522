import type { Endpoint } from '@llmd/core';

/** Standard base64 with padding, as Go's `base64.StdEncoding` accepts it. */
const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The session token for an endpoint: base64 of `namespace/name`, as llm-d writes it. */
export function encodeEndpointSessionToken(endpoint: Pick<Endpoint, 'namespace' | 'name'>): string {
  return Buffer.from(`${endpoint.namespace}/${endpoint.name}`, 'utf8').toString('base64');
}

/**
 * Decodes a session token into the endpoint's namespace and name; undefined for an empty or
 * malformed token (treated as "no session", like llm-d).
 */
export function decodeEndpointSessionToken(
  token: string | undefined,
): { namespace: string; name: string } | undefined {
  if (!token || !base64Pattern.test(token)) return undefined;
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const separator = decoded.indexOf('/');
  if (separator < 0) return undefined;
  return { namespace: decoded.slice(0, separator), name: decoded.slice(separator + 1) };
}
