import { describe, expect, it } from 'vitest';
import { createPluginRegistry } from '../plugin/plugin-registry.js';
import { builtinPlugins } from '../plugins/builtin-plugins.js';
import { loadEndpointPickerConfig } from './load-endpoint-picker-config.js';

// llm-d's example configs, verbatim from the reference (scheduler.md §4.3, well-lit-paths.md §3.1–3.2).
const pdConfig = `
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

const optimizedBaselineConfig = `
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

const preciseConfig = `
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

const registry = createPluginRegistry(builtinPlugins);

describe("llm-d's example EndpointPickerConfigs load unchanged", () => {
  it('no config: llm-d defaults (queue 2, kv-cache 2, prefix-cache 3)', async () => {
    const loaded = await loadEndpointPickerConfig({ registry });
    const scorers = loaded.plugins.profiles
      .get('default')
      ?.scorers.map((scorer) => [scorer.plugin.type, scorer.weight]);
    expect(scorers).toEqual([
      ['queue-scorer', 2],
      ['kv-cache-utilization-scorer', 2],
      ['prefix-cache-scorer', 3],
    ]);
    expect(loaded.plugins.producers.map((producer) => producer.plugin.type)).toEqual([
      'token-producer',
      'approx-prefix-cache-producer',
    ]);
    await Promise.all(loaded.plugins.all.map((plugin) => plugin.behaviour.close?.()));
  });

  it.each([
    ['P/D (deploy/config/pd-epp-config.yaml)', pdConfig, ['prefill', 'decode'], 'disagg-profile-handler'],
    ['optimized baseline', optimizedBaselineConfig, ['default'], 'single-profile-handler'],
    ['precise prefix-cache routing', preciseConfig, ['default'], 'single-profile-handler'],
  ])('%s', async (_name, text, profiles, handler) => {
    const loaded = await loadEndpointPickerConfig({ text, registry });
    expect([...loaded.plugins.profiles.keys()]).toEqual(profiles);
    expect(loaded.plugins.profileHandler.plugin.type).toBe(handler);
    await Promise.all(loaded.plugins.all.map((plugin) => plugin.behaviour.close?.()));
  });

  it('accepts the legacy apiVersion with a warning', async () => {
    const warnings: string[] = [];
    const logger = {
      trace() {},
      debug() {},
      info() {},
      warn: (_fields: unknown, message?: string) => void warnings.push(message ?? ''),
      error() {},
      child: () => logger,
    };
    await loadEndpointPickerConfig({
      text: optimizedBaselineConfig.replace('llm-d.ai/v1alpha1', 'inference.networking.x-k8s.io/v1alpha1'),
      registry,
      logger,
    });
    expect(warnings).toContain('deprecated apiVersion; use llm-d.ai/v1alpha1');
  });
});
