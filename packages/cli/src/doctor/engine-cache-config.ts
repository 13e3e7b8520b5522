import type { PrometheusSample } from '@llmd/epp';
import { type EngineMetricMapping, matchesSpec } from './scrape-metrics.js';

/** What an engine's metrics say about its KV cache. */
export interface EngineCacheConfig {
  /** Tokens per KV block (`vllm:cache_config_info{block_size}` for vLLM). */
  readonly blockSize: number | undefined;
  readonly numberOfBlocks: number | undefined;
  /** vLLM's `prefix_caching_hash_algo` label of `vllm:cache_config_info`, when present. */
  readonly hashAlgorithm: string | undefined;
}

function positiveInteger(text: string | number | undefined): number | undefined {
  const value = typeof text === 'string' ? Number(text) : text;
  return value !== undefined && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** Reads the block size and count the way the EPP's metrics extractor does for this engine. */
export function readEngineCacheConfig(
  samples: ReadonlyArray<PrometheusSample>,
  mapping: EngineMetricMapping,
): EngineCacheConfig {
  let blockSize: number | undefined;
  let numberOfBlocks: number | undefined;
  let hashAlgorithm: string | undefined;
  const cacheInfo = mapping.cacheInfo;
  const info = cacheInfo ? samples.find((sample) => matchesSpec(sample, cacheInfo)) : undefined;
  if (info) {
    blockSize = positiveInteger(info.labels[mapping.cacheBlockSizeLabel]);
    numberOfBlocks = positiveInteger(info.labels[mapping.cacheNumBlocksLabel]);
    hashAlgorithm = info.labels.prefix_caching_hash_algo || undefined;
  }
  const blockSizeSpec = mapping.cacheBlockSize;
  if (blockSize === undefined && blockSizeSpec) {
    blockSize = positiveInteger(samples.find((sample) => matchesSpec(sample, blockSizeSpec))?.value);
  }
  const blocksSpec = mapping.cacheNumBlocks;
  if (numberOfBlocks === undefined && blocksSpec) {
    numberOfBlocks = positiveInteger(samples.find((sample) => matchesSpec(sample, blocksSpec))?.value);
  }
  return { blockSize, numberOfBlocks, hashAlgorithm };
}
