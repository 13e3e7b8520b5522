/** Node's socket error codes, in the words an operator would use. */
const reasons: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused (nothing listens on that port)',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'the network is unreachable',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve (DNS lookup failed)',
  ETIMEDOUT: 'the connection timed out',
  EPIPE: 'the connection was closed while sending',
  UND_ERR_SOCKET: 'the connection was closed unexpectedly',
};

function errorCode(error: unknown): string | undefined {
  // fetch wraps the socket error as `cause`, sometimes twice (an AggregateError of attempts).
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    if (typeof current !== 'object') return undefined;
    const record = current as { code?: unknown; cause?: unknown; errors?: unknown };
    if (typeof record.code === 'string' && record.code in reasons) return record.code;
    if (Array.isArray(record.errors) && record.errors.length > 0) current = record.errors[0];
    else current = record.cause;
  }
  return undefined;
}

/** A network failure in plain words: "connection refused (nothing listens on that port)". */
export function describeNetworkError(error: unknown, timeoutMilliseconds: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${timeoutMilliseconds / 1000} s`;
  }
  const code = errorCode(error);
  if (code !== undefined) return reasons[code] as string;
  // fetch reports "fetch failed" and puts the reason in `cause`.
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
  const message = (cause ?? (error instanceof Error ? error : undefined))?.message ?? String(error);
  // fetch refuses the ports browsers block (1, 22, 25, 6000, …) before dialling.
  if (message === 'bad port')
    return 'fetch refuses this port (one of the ports browsers block); serve on another one';
  return message;
}
