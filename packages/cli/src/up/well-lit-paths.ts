import type { SimConfigInput } from '@llmd/sim';

/** What a path's definition may depend on, filled in by `startLocalStack`. */
export interface PathContext {
  readonly modelName: string;
  /** Base URL of one simulated pod, for the render endpoint (token-producer `vllm.url`). */
  readonly renderUrl: string;
  /** ZeroMQ endpoint the EPP binds for KV events (centralised mode: pods connect and publish). */
  readonly kvEventsEndpoint: string;
  readonly blockSize: number;
}

/**
 * A well-lit path as data: the EndpointPickerConfig llm-d's guide ships for it, what the simulated
 * model servers need (flags of the real vLLM deployment), and a short description of what runs.
 * Later paths (P/D, tiered cache, wide EP) slot in as more entries.
 */
export interface WellLitPath {
  readonly name: string;
  readonly summary: string;
  /** Components the path runs, for the startup banner. */
  readonly components: ReadonlyArray<string>;
  readonly needsKvEvents: boolean;
  eppConfig(context: PathContext): string;
  simConfig(context: PathContext): Partial<SimConfigInput>;
}

const optimizedBaseline: WellLitPath = {
  name: 'optimized-baseline',
  summary: 'load-aware + approximate prefix-cache routing (llm-d "optimized baseline")',
  components: [
    'simulated vLLM pods',
    'EPP (queue, kv-cache, prefix-cache, no-hit-lru scorers)',
    'embedded gateway',
  ],
  needsKvEvents: false,
  eppConfig: () => `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: prefix-cache-scorer
- type: no-hit-lru-scorer
schedulingProfiles:
- name: default
  plugins:
  - { pluginRef: queue-scorer, weight: 2 }
  - { pluginRef: kv-cache-utilization-scorer, weight: 2 }
  - { pluginRef: prefix-cache-scorer, weight: 3 }
  - { pluginRef: no-hit-lru-scorer, weight: 2 }
`,
  simConfig: () => ({}),
};

const precisePrefixCacheRouting: WellLitPath = {
  name: 'precise-prefix-cache-routing',
  summary: 'prefix-cache routing from the engines\' own KV events (llm-d "precise prefix-cache routing")',
  components: [
    'simulated vLLM pods publishing KV events',
    'EPP with the in-process KV-event index (precise-prefix-cache-producer)',
    "render endpoint tokenization (token-producer → a pod's /v1/completions/render)",
    'embedded gateway',
  ],
  needsKvEvents: true,
  eppConfig: (context) => `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: token-producer
  parameters:
    modelName: ${JSON.stringify(context.modelName)}
    vllm: { url: ${JSON.stringify(context.renderUrl)} }
- type: endpoint-notification-source
- type: precise-prefix-cache-producer
  parameters:
    tokenProcessorConfig: { blockSize: ${context.blockSize} }
    speculativeIndexing: true
    kvEventsConfig:
      topicFilter: "kv@"
      discoverPods: false
      zmqEndpoint: ${JSON.stringify(context.kvEventsEndpoint)}
- type: prefix-cache-scorer
  parameters: { prefixMatchInfoProducerName: precise-prefix-cache-producer }
- type: kv-cache-utilization-scorer
- type: queue-scorer
- type: no-hit-lru-scorer
  parameters: { prefixMatchInfoProducerName: precise-prefix-cache-producer }
dataLayer:
  sources:
  - pluginRef: endpoint-notification-source
    extractors:
    - pluginRef: precise-prefix-cache-producer
schedulingProfiles:
- name: default
  plugins:
  - { pluginRef: kv-cache-utilization-scorer, weight: 2 }
  - { pluginRef: queue-scorer, weight: 2 }
  - { pluginRef: prefix-cache-scorer, weight: 3 }
  - { pluginRef: no-hit-lru-scorer, weight: 2 }
`,
  simConfig: (context) => ({
    blockSize: context.blockSize,
    // vLLM's --kv-events-config: publish to the EPP's socket (llm-d's centralised mode); the topic
    // defaults to kv@<pod ip:port>@<model>, which names the endpoint.
    kvEventsConfig: { enable_kv_cache_events: true, publisher: 'zmq', endpoint: context.kvEventsEndpoint },
  }),
};

export const wellLitPaths: ReadonlyArray<WellLitPath> = [optimizedBaseline, precisePrefixCacheRouting];

export function findWellLitPath(name: string): WellLitPath | undefined {
  return wellLitPaths.find((path) => path.name === name);
}
