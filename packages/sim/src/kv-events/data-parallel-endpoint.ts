import { InvalidArgumentError } from '@llmd/core';

/**
 * The endpoint data-parallel rank `rank` publishes on, following vLLM's convention
 * (kv-events.md §4.1): TCP ports are offset by the rank, local transports get `_dp<rank>` appended.
 * Rank 0 keeps the configured endpoint, so a single-rank deployment listens where it was told.
 * Wildcard ports (`*`, `0`) are left alone: every bind then picks its own free port anyway.
 */
export function dataParallelEndpoint(endpoint: string, rank: number): string {
  if (!Number.isSafeInteger(rank) || rank < 0) {
    throw new InvalidArgumentError(`data-parallel rank must be a non-negative integer, got ${rank}`, {
      path: 'dataParallelRank',
    });
  }
  if (rank === 0) return endpoint;
  if (endpoint.startsWith('inproc://') || endpoint.startsWith('ipc://')) return `${endpoint}_dp${rank}`;
  if (!endpoint.startsWith('tcp://')) {
    throw new InvalidArgumentError(
      `cannot derive a data-parallel endpoint from "${endpoint}": expected tcp://, ipc:// or inproc://`,
      { path: 'endpoint' },
    );
  }
  const portSeparator = endpoint.lastIndexOf(':');
  const portText = endpoint.slice(portSeparator + 1);
  // "tcp://" itself contains a colon; a separator inside it means the endpoint has no port.
  if (portSeparator < 'tcp://'.length || portText === '*' || portText === '0') return endpoint;
  if (!/^\d+$/.test(portText)) {
    throw new InvalidArgumentError(`endpoint "${endpoint}" has no numeric tcp port to offset`, {
      path: 'endpoint',
    });
  }
  const port = Number(portText) + rank;
  if (port > 65_535) {
    throw new InvalidArgumentError(
      `endpoint "${endpoint}" offset by data-parallel rank ${rank} exceeds port 65535`,
      { path: 'endpoint' },
    );
  }
  return `${endpoint.slice(0, portSeparator)}:${port}`;
}
