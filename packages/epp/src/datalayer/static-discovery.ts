/**
 * A fixed list of endpoints (`--endpoints 10.0.0.1:8000,10.0.0.2:8000` or a programmatic list):
 * the simplest discovery source, for local runs and tests against simulated pods.
 */
import {
  createEndpoint,
  type Endpoint,
  type EndpointInput,
  endpointInputSchema,
  InvalidArgumentError,
  parseEndpointKey,
  parseWithSchema,
} from '@llmd/core';
import type { Datastore } from './datastore.js';
import type { EndpointDiscovery } from './endpoint-discovery.js';

/**
 * Splits `10.0.0.1:8000,10.0.0.2:8000` (commas and/or whitespace; `[v6]:port` allowed) into
 * endpoint inputs. Throws `invalid_argument` naming the first bad entry and its position.
 */
export function parseEndpointList(text: string): Array<{ address: string; port: number }> {
  const entries = text.split(/[\s,]+/).filter((entry) => entry !== '');
  return entries.map((entry, index) => {
    try {
      return parseEndpointKey(entry);
    } catch (error) {
      throw new InvalidArgumentError(
        `endpoint list entry ${index + 1} "${entry}" is not of the form ip:port`,
        {
          cause: error,
          path: `[${index}]`,
        },
      );
    }
  });
}

/** An `ip:port` string, or an endpoint input with its own name and labels. */
export type StaticEndpointEntry = string | EndpointInput;

export interface StaticDiscoveryOptions {
  endpoints: ReadonlyArray<StaticEndpointEntry>;
  /** Labels added to every endpoint (an entry's own labels win), e.g. `{ 'llm-d.ai/role': 'decode' }`. */
  labels?: Readonly<Record<string, string>>;
  /** Namespace of endpoints that name none. */
  namespace?: string;
}

function toEndpoint(entry: StaticEndpointEntry, options: StaticDiscoveryOptions, index: number): Endpoint {
  let input: EndpointInput;
  try {
    input = typeof entry === 'string' ? parseEndpointKey(entry) : entry;
  } catch (error) {
    throw new InvalidArgumentError(
      `static endpoint ${index + 1} "${String(entry)}" is not of the form ip:port`,
      {
        cause: error,
        path: `endpoints[${index}]`,
      },
    );
  }
  const parsed = parseWithSchema(
    endpointInputSchema,
    {
      ...input,
      namespace: input.namespace ?? options.namespace,
      labels: { ...options.labels, ...input.labels },
    },
    'invalid_argument',
    `static endpoint ${index + 1}`,
  );
  return createEndpoint(parsed);
}

export class StaticDiscovery implements EndpointDiscovery {
  readonly #endpoints: ReadonlyArray<Endpoint>;

  /** Validates every entry up front, so a typo fails at construction rather than at start. */
  constructor(options: StaticDiscoveryOptions) {
    const endpoints = options.endpoints.map((entry, index) => toEndpoint(entry, options, index));
    const seen = new Set<string>();
    endpoints.forEach((endpoint, index) => {
      if (seen.has(endpoint.key)) {
        throw new InvalidArgumentError(`static endpoint ${endpoint.key} is listed twice`, {
          path: `endpoints[${index}]`,
        });
      }
      seen.add(endpoint.key);
    });
    this.#endpoints = Object.freeze(endpoints);
  }

  get endpoints(): ReadonlyArray<Endpoint> {
    return this.#endpoints;
  }

  async start(datastore: Datastore): Promise<void> {
    datastore.replaceAll(this.#endpoints);
    datastore.markSynced();
  }

  async stop(): Promise<void> {}
}
