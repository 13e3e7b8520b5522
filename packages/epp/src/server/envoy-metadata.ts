import { headerNames, metadataNamespaces } from '@llmd/core';
import type { MetadataMessage, StructMessage } from './ext-proc-messages.js';
import { stringListFromValue, structField, toStructMessage } from './struct-values.js';

/**
 * The subset hint from `filter_metadata["envoy.lb.subset_hint"]["x-gateway-destination-endpoint-subset"]`:
 * undefined when the proxy sent none, otherwise the candidate `ip:port` values (possibly empty, which
 * the Endpoint Picker Protocol answers with 503).
 */
export function readSubsetHint(metadata: MetadataMessage | null | undefined): string[] | undefined {
  const namespace = metadata?.filter_metadata?.[metadataNamespaces.subsetHint];
  const value = structField(namespace, headerNames.destinationEndpointSubset);
  return value === undefined ? undefined : stringListFromValue(value);
}

/** The endpoint that served, from `filter_metadata["envoy.lb"]["x-gateway-destination-endpoint-served"]`. */
export function readServedEndpoint(metadata: MetadataMessage | null | undefined): string | undefined {
  const namespace = metadata?.filter_metadata?.[metadataNamespaces.loadBalancing];
  const value = structField(namespace, headerNames.destinationEndpointServed)?.stringValue;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * `dynamic_metadata` for the routing decision: `{"envoy.lb": {"x-gateway-destination-endpoint": …}}`,
 * the same string as the header (the protocol forbids them to differ), plus the per-endpoint scores
 * when requested.
 */
export function destinationMetadata(
  destination: string,
  endpointScores: Readonly<Record<string, number>> | undefined,
): StructMessage {
  return toStructMessage({
    [metadataNamespaces.loadBalancing]: {
      [headerNames.destinationEndpoint]: destination,
      ...(endpointScores === undefined
        ? {}
        : { [headerNames.destinationEndpointScores]: { ...endpointScores } }),
    },
  });
}
