import { z } from 'zod';
import { InvalidArgumentError } from '../errors/invalid-argument-error.js';
import { type EndpointRole, type EngineType, endpointRoles, engineTypes, labelNames } from './labels.js';

/** `ip:port`, the key an endpoint is known by everywhere (headers, KV-event topics, metrics). */
export type EndpointKey = `${string}:${number}`;

/** One model-server endpoint: a pod's target port. */
export interface Endpoint {
  readonly key: EndpointKey;
  readonly address: string;
  readonly port: number;
  /** Pod name (Kubernetes) or a generated name for static endpoints. */
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** From the `llm-d.ai/role` label; undefined when unlabelled (unlabelled pods serve decode). */
  readonly role: EndpointRole | undefined;
  /** From `llm-d.ai/engine-type` (or its legacy name); defaults to `vllm`. */
  readonly engineType: EngineType;
}

export const endpointInputSchema = z
  .object({
    address: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    name: z.string().min(1).optional(),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
  })
  .strict();
export type EndpointInput = z.input<typeof endpointInputSchema>;

export function formatEndpointKey(address: string, port: number): EndpointKey {
  // IPv6 literals need brackets so the port stays unambiguous.
  const host = address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
  return `${host}:${port}` as EndpointKey;
}

/** Parse `ip:port` / `[v6]:port`; throws `invalid_argument` naming the bad value. */
export function parseEndpointKey(value: string): { address: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`"${value}" is not an endpoint address of the form ip:port`);
  }
  return { address: (match[1] ?? match[2]) as string, port };
}

function roleFromLabels(labels: Readonly<Record<string, string>>): EndpointRole | undefined {
  const value = labels[labelNames.role];
  return (endpointRoles as ReadonlyArray<string>).includes(value ?? '') ? (value as EndpointRole) : undefined;
}

function engineTypeFromLabels(labels: Readonly<Record<string, string>>): EngineType {
  const value = labels[labelNames.engineType] ?? labels[labelNames.legacyEngineType];
  return (engineTypes as ReadonlyArray<string>).includes(value ?? '') ? (value as EngineType) : 'vllm';
}

export function createEndpoint(input: EndpointInput): Endpoint {
  const parsed = endpointInputSchema.parse(input);
  const labels = Object.freeze({ ...(parsed.labels ?? {}) });
  const key = formatEndpointKey(parsed.address, parsed.port);
  return Object.freeze({
    key,
    address: parsed.address,
    port: parsed.port,
    name: parsed.name ?? key,
    namespace: parsed.namespace ?? 'default',
    labels,
    role: roleFromLabels(labels),
    engineType: engineTypeFromLabels(labels),
  });
}
