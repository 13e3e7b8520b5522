import { definePlugin } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';

/** Request header (lower-cased) listing the endpoints a conformance test wants picked. */
export const testEndpointSelectionHeader = 'test-epp-endpoint-selection';

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Splits `ip`, `ip:port`, `[v6]` or `[v6]:port`; a bare IPv6 literal has no port. */
function parseSelection(item: string): { host: string; port: string | undefined } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(item);
  if (bracketed) return { host: bracketed[1] as string, port: bracketed[2] };
  const colons = item.split(':').length - 1;
  if (colons === 1) {
    const [host, port] = item.split(':') as [string, string];
    return { host, port };
  }
  return { host: item, port: undefined };
}

/**
 * Conformance-test filter: keeps the endpoints named in the `test-epp-endpoint-selection` header
 * (comma-separated `ip` or `ip:port`), in header order, at most one per IP. No header, or no
 * match, leaves nothing. Never configure it in production.
 */
export const headerBasedTestingFilterPlugin = definePlugin({
  type: 'header-based-testing-filter',
  stability: 'Beta',
  create: () => ({
    filter(request, endpoints) {
      const header = request.headers[testEndpointSelectionHeader];
      if (header === undefined || header.trim() === '') return [];
      const byAddress = new Map<string, SchedulingEndpoint>();
      const byAddressAndPort = new Map<string, SchedulingEndpoint>();
      for (const candidate of endpoints) {
        const address = stripBrackets(candidate.endpoint.address);
        // First candidate wins for an IP-only selection (several target ports share one pod IP).
        if (!byAddress.has(address)) byAddress.set(address, candidate);
        byAddressAndPort.set(`${address}|${candidate.endpoint.port}`, candidate);
      }
      const selected: SchedulingEndpoint[] = [];
      const seenAddresses = new Set<string>();
      for (const raw of header.split(',')) {
        const item = raw.trim();
        if (item === '') continue;
        const { host, port } = parseSelection(item);
        const address = stripBrackets(host);
        const match =
          port === undefined ? byAddress.get(address) : byAddressAndPort.get(`${address}|${port}`);
        if (!match) continue;
        const matchedAddress = stripBrackets(match.endpoint.address);
        if (seenAddresses.has(matchedAddress)) continue;
        seenAddresses.add(matchedAddress);
        selected.push(match);
      }
      return selected;
    },
  }),
});
