/**
 * vLLM's bind-or-connect rule for KV-event sockets (kv-events.md §4.1): wildcard hosts or ports
 * (`*`), IPv6 any-address (`::`) and local transports (`ipc://`, `inproc://`) are bound; anything
 * else names a remote peer (a centralised indexer) and is connected to.
 */
export function shouldBindEndpoint(endpoint: string): boolean {
  return (
    endpoint.includes('*') ||
    endpoint.includes('::') ||
    endpoint.startsWith('ipc://') ||
    endpoint.startsWith('inproc://')
  );
}
