/** Test fixture. */
// llm-d's example configs, verbatim from the reference (scheduler.md §4.3, well-lit-paths.md §3.1–3.2).
export const pdReferenceConfig = `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: approx-prefix-cache-producer
  parameters:
    maxPrefixTokensToMatch: 16384
    lruCapacityPerServer: 31250
- type: prefix-cache-scorer
- type: queue-scorer
- type: prefill-filter
- type: decode-filter
- type: max-score-picker
- type: disagg-profile-handler
  parameters:
    deciders:
      prefill: prefix-based-pd-decider
- type: prefix-based-pd-decider
  parameters:
    nonCachedTokens: 16
schedulingProfiles:
- name: prefill
  plugins:
  - pluginRef: prefill-filter
  - pluginRef: max-score-picker
  - pluginRef: prefix-cache-scorer
    weight: 2
  - pluginRef: queue-scorer
    weight: 1
- name: decode
  plugins:
  - pluginRef: decode-filter
  - pluginRef: max-score-picker
  - pluginRef: prefix-cache-scorer
    weight: 2
  - pluginRef: queue-scorer
    weight: 1
`;

export const optimizedBaselineReferenceConfig = `
apiVersion: llm-d.ai/v1alpha1
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
`;

export const preciseReferenceConfig = `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: token-producer
  parameters:
    modelName: Qwen/Qwen3-32B
    vllm: { url: "http://precise-prefix-cache-routing-render:8000" }
- type: endpoint-notification-source
- type: precise-prefix-cache-producer
  parameters:
    tokenProcessorConfig: { blockSize: 64 }
    speculativeIndexing: true
    indexerConfig: { kvBlockIndexConfig: { enableMetrics: true } }
    kvEventsConfig:
      topicFilter: "kv@"
      concurrency: 8
      discoverPods: true
      podDiscoveryConfig: { socketPort: 5556 }
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
`;
