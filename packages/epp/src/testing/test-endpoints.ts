import { createEndpoint } from '@llmd/core';
import { AttributeMap } from '../plugin/attribute-map.js';
import {
  type EndpointMetrics,
  type EndpointState,
  emptyEndpointMetrics,
  type SchedulingEndpoint,
} from '../plugin/endpoint-state.js';

export interface TestEndpointInit {
  /** `ip:port`; defaults to `10.0.0.<index>:8000`. */
  readonly key?: string;
  readonly name?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly metrics?: Partial<EndpointMetrics>;
}

let generated = 0;

/** An endpoint state with metrics as given (updateTime defaults to now, so it is fresh). */
export function createTestEndpointState(init: TestEndpointInit = {}): EndpointState {
  generated += 1;
  const key = init.key ?? `10.0.${Math.floor(generated / 250)}.${(generated % 250) + 1}:8000`;
  const separator = key.lastIndexOf(':');
  const endpoint = createEndpoint({
    address: key.slice(0, separator).replace(/^\[|\]$/g, ''),
    port: Number(key.slice(separator + 1)),
    ...(init.name ? { name: init.name } : {}),
    ...(init.labels ? { labels: { ...init.labels } } : {}),
  });
  return { endpoint, metrics: { ...emptyEndpointMetrics, updateTime: Date.now(), ...init.metrics } };
}

/** A candidate endpoint for calling filters, scorers and pickers directly. */
export function createTestSchedulingEndpoint(init: TestEndpointInit = {}): SchedulingEndpoint {
  const state = createTestEndpointState(init);
  return { ...state, attributes: new AttributeMap() };
}
