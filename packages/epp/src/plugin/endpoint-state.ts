import type { Endpoint } from '@llmd/core';
import type { AttributeMap } from './attribute-map.js';

/**
 * What the data layer knows about one endpoint's model server, scraped from its metrics. Field
 * names follow llm-d's `Metrics` so plugin authors can port Go plugins line by line.
 */
export interface EndpointMetrics {
  readonly waitingQueueSize: number;
  readonly runningRequestsSize: number;
  /** KV-cache usage as a fraction, 0–1 (vLLM's `vllm:kv_cache_usage_perc`). */
  readonly kvCacheUsagePercent: number;
  /** LoRA adapters running on the engine. */
  readonly activeModels: ReadonlyArray<string>;
  /** LoRA adapters waiting to be loaded. */
  readonly waitingModels: ReadonlyArray<string>;
  /** `max_lora`; 0 when unknown or LoRA is off. */
  readonly maxActiveModels: number;
  /** Engine KV block size in tokens (`vllm:cache_config_info` `block_size`), undefined until scraped. */
  readonly cacheBlockSize: number | undefined;
  /** Number of GPU KV blocks (`num_gpu_blocks`), undefined until scraped. */
  readonly cacheNumBlocks: number | undefined;
  /** Milliseconds since the epoch of the last successful scrape; 0 when never scraped. */
  readonly updateTime: number;
}

export const emptyEndpointMetrics: EndpointMetrics = Object.freeze({
  waitingQueueSize: 0,
  runningRequestsSize: 0,
  kvCacheUsagePercent: 0,
  activeModels: Object.freeze([]) as ReadonlyArray<string>,
  waitingModels: Object.freeze([]) as ReadonlyArray<string>,
  maxActiveModels: 0,
  cacheBlockSize: undefined,
  cacheNumBlocks: undefined,
  updateTime: 0,
});

/** An endpoint and its latest metrics, as the datastore holds it. Replaced, never mutated. */
export interface EndpointState {
  readonly endpoint: Endpoint;
  readonly metrics: EndpointMetrics;
}

/**
 * One candidate endpoint within one request: the datastore's snapshot plus a per-request attribute
 * map that producers write (prefix matches, in-flight load) and scorers read.
 */
export interface SchedulingEndpoint extends EndpointState {
  readonly attributes: AttributeMap;
}
