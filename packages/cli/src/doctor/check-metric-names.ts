import type { PrometheusSample } from '@llmd/epp';
import { type DoctorFinding, finding } from './doctor-finding.js';
import { readEngineCacheConfig } from './engine-cache-config.js';
import {
  type EngineMetricMapping,
  formatSpec,
  type MetricSpec,
  type MetricsScrape,
  matchesSpec,
} from './scrape-metrics.js';

/** vLLM's name for KV-cache usage before it was renamed to `vllm:kv_cache_usage_perc`. */
const oldVllmKvUsageName = 'vllm:gpu_cache_usage_perc';

/** Metric-name prefixes that give an engine away, to suggest the right `llm-d.ai/engine-type`. */
const enginePrefixes: ReadonlyArray<readonly [string, string]> = [
  ['vllm:', 'vllm'],
  ['sglang:', 'sglang'],
  ['trtllm_', 'trtllm'],
  ['nv_trt_llm_', 'triton-tensorrt-llm'],
];

function guessEngine(samples: ReadonlyArray<PrometheusSample>): string | undefined {
  for (const [prefix, engine] of enginePrefixes) {
    if (samples.some((sample) => sample.name.startsWith(prefix))) return engine;
  }
  return undefined;
}

interface Signal {
  readonly spec: MetricSpec | undefined;
  /** What the EPP cannot do without it, said of one endpoint. */
  readonly consequence: string;
}

function signalsOf(mapping: EngineMetricMapping): Signal[] {
  return [
    {
      spec: mapping.queuedRequests,
      consequence: 'the queue scorer and the saturation detector will see 0 waiting requests on it',
    },
    {
      spec: mapping.runningRequests,
      consequence: 'load-aware scorers will see 0 running requests on it',
    },
    {
      spec: mapping.kvUsage,
      consequence:
        'the KV-cache-utilization scorer will see 0% on it and saturation detection cannot tell when it is full',
    },
    {
      spec: mapping.cacheInfo ?? mapping.cacheBlockSize,
      consequence:
        'the EPP cannot learn its block size and block count, so prefix-cache estimates use defaults',
    },
  ];
}

/** Check 2: the endpoint exposes every metric the EPP scrapes for its engine type. */
export function checkMetricNames(
  endpointKey: string,
  scrape: MetricsScrape,
  mapping: EngineMetricMapping,
): DoctorFinding[] {
  const key = endpointKey;
  const { result, samples } = scrape;
  if (result.kind === 'error') {
    return [
      finding(
        'fail',
        'metric-names',
        `${key}: GET /metrics failed (${result.reason}): the EPP cannot read its load, so every load-aware scorer sees 0`,
        key,
      ),
    ];
  }
  if (samples === undefined) {
    return [
      finding(
        'fail',
        'metric-names',
        `${key}: GET /metrics returned HTTP ${result.status}: the EPP scrapes /metrics on the serving port and cannot read its load`,
        key,
      ),
    ];
  }
  const findings: DoctorFinding[] = [];
  const missing: string[] = [];
  for (const signal of signalsOf(mapping)) {
    const spec = signal.spec;
    if (spec === undefined || samples.some((sample) => matchesSpec(sample, spec))) continue;
    const name = formatSpec(spec);
    missing.push(name);
    if (mapping.name === 'vllm' && spec.name === 'vllm:kv_cache_usage_perc') {
      if (samples.some((sample) => sample.name === oldVllmKvUsageName)) {
        findings.push(
          finding(
            'warn',
            'metric-names',
            `${key} exposes only the old name ${oldVllmKvUsageName}: the EPP reads ${name}, so ${signal.consequence}; upgrade vLLM or set kvUsageSpec: ${oldVllmKvUsageName} in the EPP's engineConfigs`,
            key,
          ),
        );
        continue;
      }
    }
    findings.push(
      finding('fail', 'metric-names', `${key} does not expose ${name}: ${signal.consequence}`, key),
    );
  }
  const guessed = guessEngine(samples);
  if (missing.length > 0 && guessed !== undefined && guessed !== mapping.name) {
    findings.push(
      finding(
        'fail',
        'metric-names',
        `${key} looks like ${guessed}, not ${mapping.name}: label its pods llm-d.ai/engine-type=${guessed} so the EPP reads the right names (and run the doctor with --engine-type ${guessed})`,
        key,
      ),
    );
  }
  if (findings.length === 0) {
    const cache = readEngineCacheConfig(samples, mapping);
    const details = [
      cache.blockSize === undefined ? undefined : `block size ${cache.blockSize}`,
      cache.numberOfBlocks === undefined ? undefined : `${cache.numberOfBlocks} blocks`,
    ].filter((detail) => detail !== undefined);
    findings.push(
      finding(
        'ok',
        'metric-names',
        `${key} exposes every metric the EPP reads for ${mapping.name}${details.length > 0 ? ` (${details.join(', ')})` : ''}`,
        key,
      ),
    );
  }
  return findings;
}
