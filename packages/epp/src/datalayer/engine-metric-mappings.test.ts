/**
 * Engine metric mappings: spec parsing, built-in engines, custom engineConfigs and their validation.
 */
import { createEndpoint, LlmdError } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { emptyEndpointMetrics } from '../plugin/endpoint-state.js';
import { EngineMetricMappings, extractEndpointMetrics, parseMetricSpec } from './engine-metric-mappings.js';
import { parsePrometheusText } from './prometheus-text-parser.js';

const endpointWith = (labels: Record<string, string> = {}) =>
  createEndpoint({ address: '10.0.0.1', port: 8000, labels });

function extract(mappings: EngineMetricMappings, labels: Record<string, string>, text: string) {
  const mapping = mappings.forEndpoint(endpointWith(labels));
  return extractEndpointMetrics(
    mapping,
    parsePrometheusText(text, mapping.wantedNames),
    emptyEndpointMetrics,
    1234,
  );
}

describe('parseMetricSpec', () => {
  it('reads names with optional label matchers, quoted or not', () => {
    expect(parseMetricSpec('vllm:num_requests_waiting')).toEqual({
      name: 'vllm:num_requests_waiting',
      labels: [],
    });
    expect(parseMetricSpec('nv_trt_llm_request_metrics{request_type=waiting}')).toEqual({
      name: 'nv_trt_llm_request_metrics',
      labels: [['request_type', 'waiting']],
    });
    expect(parseMetricSpec(' m{a="x", b=y} ')?.labels).toEqual([
      ['a', 'x'],
      ['b', 'y'],
    ]);
    expect(parseMetricSpec('')).toBeUndefined();
  });

  it('rejects malformed specs', () => {
    expect(() => parseMetricSpec('1bad')).toThrow(/not a metric name/);
    expect(() => parseMetricSpec('m{a=b')).toThrow(/must end with/);
    expect(() => parseMetricSpec('m{nolabel}')).toThrow(/not a label matcher/);
  });
});

describe('engine mappings', () => {
  const mappings = new EngineMetricMappings();

  it('maps vLLM metrics, LoRA state (newest series) and cache config labels', () => {
    const text = [
      'vllm:num_requests_waiting{model_name="m"} 4',
      'vllm:num_requests_running{model_name="m"} 2',
      'vllm:kv_cache_usage_perc{model_name="m"} 0.375',
      'vllm:lora_requests_info{max_lora="4",running_lora_adapters="old",waiting_lora_adapters=""} 1.6e9',
      'vllm:lora_requests_info{max_lora="4",running_lora_adapters="a1, a2",waiting_lora_adapters="a3"} 1.7e9',
      'vllm:cache_config_info{block_size="16",cache_dtype="auto",num_gpu_blocks="9000"} 1',
    ].join('\n');
    const { metrics, missing } = extract(mappings, {}, text);
    expect(missing).toEqual([]);
    expect(metrics).toEqual({
      waitingQueueSize: 4,
      runningRequestsSize: 2,
      kvCacheUsagePercent: 0.375,
      activeModels: ['a1', 'a2'],
      waitingModels: ['a3'],
      maxActiveModels: 4,
      cacheBlockSize: 16,
      cacheNumBlocks: 9000,
      updateTime: 1234,
    });
  });

  it('maps SGLang by the engine-type label (and its legacy spelling)', () => {
    const text = [
      'sglang:num_queue_reqs{model_name="m"} 6',
      'sglang:num_running_reqs{model_name="m"} 3',
      'sglang:token_usage{model_name="m"} 0.5',
      'sglang:cache_config_info{page_size="64",num_pages="1200"} 1',
      'vllm:num_requests_waiting 99',
    ].join('\n');
    for (const label of ['llm-d.ai/engine-type', 'inference.networking.k8s.io/engine-type']) {
      const { metrics } = extract(mappings, { [label]: 'sglang' }, text);
      expect(metrics).toMatchObject({
        waitingQueueSize: 6,
        runningRequestsSize: 3,
        kvCacheUsagePercent: 0.5,
        cacheBlockSize: 64,
        cacheNumBlocks: 1200,
        activeModels: [],
      });
    }
  });

  it('maps trtllm-serve gauges, including block size and count as values', () => {
    const text = [
      'trtllm_num_requests_waiting 1',
      'trtllm_num_requests_running 8',
      'trtllm_kv_cache_utilization 0.9',
      'trtllm_kv_cache_tokens_per_block 32',
      'trtllm_kv_cache_max_blocks 4096',
    ].join('\n');
    for (const engine of ['trtllm', 'trtllm-serve']) {
      const { metrics, missing } = extract(mappings, { 'llm-d.ai/engine-type': engine }, text);
      expect(missing).toEqual([]);
      expect(metrics).toMatchObject({
        waitingQueueSize: 1,
        runningRequestsSize: 8,
        kvCacheUsagePercent: 0.9,
        cacheBlockSize: 32,
        cacheNumBlocks: 4096,
      });
    }
  });

  it('selects series by label matchers (Triton TensorRT-LLM backend)', () => {
    const text = [
      'nv_trt_llm_request_metrics{model="m",request_type="waiting"} 5',
      'nv_trt_llm_request_metrics{model="m",request_type="scheduled"} 7',
      'nv_trt_llm_request_metrics{model="m",request_type="context"} 100',
      'nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="fraction"} 0.125',
      'nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="tokens_per"} 64',
      'nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="max"} 512',
    ].join('\n');
    const { metrics } = extract(mappings, { 'llm-d.ai/engine-type': 'triton-tensorrt-llm' }, text);
    expect(metrics).toMatchObject({
      waitingQueueSize: 5,
      runningRequestsSize: 7,
      kvCacheUsagePercent: 0.125,
      cacheBlockSize: 64,
      cacheNumBlocks: 512,
    });
  });

  it('falls back to the default engine for unknown labels and reports missing signals, keeping old values', () => {
    const mapping = mappings.forEndpoint(endpointWith({ 'llm-d.ai/engine-type': 'unknown-engine' }));
    expect(mapping.name).toBe('vllm');
    const previous = { ...emptyEndpointMetrics, runningRequestsSize: 9, cacheBlockSize: 16 };
    const { metrics, missing } = extractEndpointMetrics(
      mapping,
      parsePrometheusText('vllm:num_requests_waiting 1\n', mapping.wantedNames),
      previous,
      5,
    );
    expect(missing).toEqual(['vllm:num_requests_running', 'vllm:kv_cache_usage_perc']);
    expect(metrics).toMatchObject({
      waitingQueueSize: 1,
      runningRequestsSize: 9,
      cacheBlockSize: 16,
      updateTime: 5,
    });
  });

  it('accepts custom engine configs that replace or add engines, with a configurable label and default', () => {
    const custom = new EngineMetricMappings({
      engineLabelKey: 'example.com/server',
      defaultEngine: 'my-engine',
      engineConfigs: [
        {
          name: 'my-engine',
          queuedRequestsSpec: 'my_queue{state=waiting}',
          runningRequestsSpec: 'my_queue{state=running}',
          kvUsageSpec: 'my_kv',
          cacheInfoSpec: 'my_cache_info',
          cacheBlockSizeLabel: 'tokens_per_page',
          cacheNumBlocksLabel: 'pages',
        },
        { name: 'vllm', queuedRequestsSpec: 'vllm:num_requests_waiting', loraSpec: '' },
      ],
    });
    const text = [
      'my_queue{state="waiting"} 11',
      'my_queue{state="running"} 12',
      'my_kv 0.1',
      'my_cache_info{tokens_per_page="128",pages="77"} 1',
    ].join('\n');
    expect(extract(custom, {}, text).metrics).toMatchObject({
      waitingQueueSize: 11,
      runningRequestsSize: 12,
      kvCacheUsagePercent: 0.1,
      cacheBlockSize: 128,
      cacheNumBlocks: 77,
    });
    // The vLLM entry replaced the built-in one whole: only the queue is read, no LoRA.
    const vllm = custom.forEndpoint(endpointWith({ 'example.com/server': 'vllm' }));
    expect([...vllm.wantedNames]).toEqual(['vllm:num_requests_waiting']);
    // The configured label key replaces the default one.
    expect(custom.forEndpoint(endpointWith({ 'llm-d.ai/engine-type': 'sglang' })).name).toBe('my-engine');
    expect(custom.get('sglang')?.name).toBe('sglang');
  });

  it('rejects invalid configs naming the field', () => {
    const attempt = (input: unknown) => () => new EngineMetricMappings(input as never);
    expect(attempt({ engineConfigs: [{ name: 'x', kvUsageSpec: 'bad{spec' }] })).toThrow(
      /engineConfigs\[0\]\.kvUsageSpec/,
    );
    expect(attempt({ engineConfigs: [{ name: 'x', unknownSpec: 'a' }] })).toThrow(/engineConfigs\[0\]/);
    expect(attempt({ defaultEngine: 'nope' })).toThrow(/defaultEngine/);
    expect(attempt({ engineConfigs: [{ name: 'x' }, { name: 'x' }] })).toThrow(/engineConfigs\[1\]\.name/);
    try {
      attempt({ defaultEngine: 'nope' })();
    } catch (error) {
      expect(LlmdError.isInstance(error) && error.code).toBe('invalid_config');
    }
  });
});
