import { describe, expect, it } from 'vitest';
import { createPluginRegistry } from '../plugin/plugin-registry.js';
import { builtinPlugins } from '../plugins/builtin-plugins.js';
import {
  optimizedBaselineReferenceConfig as optimizedBaselineConfig,
  pdReferenceConfig as pdConfig,
  preciseReferenceConfig as preciseConfig,
} from './__fixtures__/llm-d-reference-configs.js';
import { loadEndpointPickerConfig } from './load-endpoint-picker-config.js';

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
