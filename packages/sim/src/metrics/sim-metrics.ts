import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EngineRequestResult } from '../engine/engine-request.js';
import type { SimEngine } from '../engine/sim-engine.js';

/** vLLM's histogram buckets, so dashboards built for vLLM read the simulator unchanged. */
const buckets = {
  timeToFirstToken: [
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160,
    640, 2560,
  ],
  interToken: [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80],
  requestLatency: [
    0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680,
  ],
  tokens: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000],
};

export interface SimMetricsOptions {
  engine: SimEngine;
  modelName: string;
  /** DP rank, vLLM's `engine` label. */
  engineIndex: number;
  blockSize: number;
  numberOfGpuBlocks: number;
  numberOfCpuBlocks: number;
  hashAlgorithm: string;
  maximumLoras: number;
  now?: () => number;
}

/**
 * The vLLM metrics a router reads, with vLLM's names, labels and buckets, in a registry of this
 * engine's own (several simulated engines share one process).
 */
export class SimMetrics {
  readonly registry = new Registry();
  private readonly labels: { model_name: string; engine: string };
  private readonly promptTokens: Counter;
  private readonly generationTokens: Counter;
  private readonly prefixQueries: Counter;
  private readonly prefixHits: Counter;
  private readonly requestSuccess: Counter;
  private readonly timeToFirstToken: Histogram;
  private readonly interTokenLatency: Histogram;
  /** vLLM's older name for the same per-token latency; dashboards and autoscaling recipes still read it. */
  private readonly timePerOutputTokenPerToken: Histogram;
  private readonly timePerOutputToken: Histogram;
  private readonly endToEnd: Histogram;
  private readonly queueTime: Histogram;
  private readonly prefillTime: Histogram;
  private readonly decodeTime: Histogram;
  private readonly requestPromptTokens: Histogram;
  private readonly requestGenerationTokens: Histogram;
  private readonly requestMaxTokens: Histogram;

  constructor(options: SimMetricsOptions) {
    const now = options.now ?? Date.now;
    this.labels = { model_name: options.modelName, engine: String(options.engineIndex) };
    const labelNames = ['model_name', 'engine'] as const;
    const registers = [this.registry];
    const engine = options.engine;
    const labels = this.labels;

    new Gauge({
      name: 'vllm:num_requests_running',
      help: 'Number of requests in model execution batches.',
      labelNames,
      registers,
      collect() {
        this.set(labels, engine.runningCount);
      },
    });
    new Gauge({
      name: 'vllm:num_requests_waiting',
      help: 'Number of requests waiting to be processed.',
      labelNames,
      registers,
      collect() {
        this.set(labels, engine.waitingCount);
      },
    });
    new Gauge({
      name: 'vllm:kv_cache_usage_perc',
      help: 'KV-cache usage. 1 means 100 percent usage.',
      labelNames,
      registers,
      collect() {
        this.set(labels, engine.pool.usage);
      },
    });
    const cacheConfig = new Gauge({
      name: 'vllm:cache_config_info',
      help: 'Information of the LLMEngine CacheConfig.',
      labelNames: [
        'block_size',
        'cache_dtype',
        'enable_prefix_caching',
        'num_cpu_blocks',
        'num_gpu_blocks',
        'prefix_caching_hash_algo',
        'engine',
      ],
      registers,
    });
    cacheConfig.set(
      {
        block_size: String(options.blockSize),
        cache_dtype: 'auto',
        enable_prefix_caching: 'True',
        num_cpu_blocks: String(options.numberOfCpuBlocks),
        num_gpu_blocks: String(options.numberOfGpuBlocks),
        prefix_caching_hash_algo: options.hashAlgorithm,
        engine: String(options.engineIndex),
      },
      1,
    );
    let lastLoraState = '';
    let loraStateChangedAt = now() / 1000;
    new Gauge({
      name: 'vllm:lora_requests_info',
      help: 'Running stats on lora requests.',
      labelNames: ['max_lora', 'running_lora_adapters', 'waiting_lora_adapters'],
      registers,
      // The value is when the adapter sets last changed; consumers take the newest series.
      collect() {
        const state = engine.loraState();
        const key = `${state.running.join(',')}|${state.waiting.join(',')}`;
        if (key !== lastLoraState) {
          lastLoraState = key;
          loraStateChangedAt = now() / 1000;
        }
        this.reset();
        this.set(
          {
            max_lora: String(options.maximumLoras),
            running_lora_adapters: state.running.join(','),
            waiting_lora_adapters: state.waiting.join(','),
          },
          loraStateChangedAt,
        );
      },
    });

    const counter = (name: string, help: string) => new Counter({ name, help, labelNames, registers });
    this.promptTokens = counter('vllm:prompt_tokens_total', 'Number of prefill tokens processed.');
    this.generationTokens = counter('vllm:generation_tokens_total', 'Number of generation tokens processed.');
    this.prefixQueries = counter(
      'vllm:prefix_cache_queries_total',
      'Prefix cache queries, in terms of number of queried tokens.',
    );
    this.prefixHits = counter(
      'vllm:prefix_cache_hits_total',
      'Prefix cache hits, in terms of number of cached tokens.',
    );
    this.requestSuccess = new Counter({
      name: 'vllm:request_success_total',
      help: 'Count of successfully processed requests.',
      labelNames: [...labelNames, 'finished_reason'],
      registers,
    });
    const histogram = (name: string, help: string, bucketList: number[]) =>
      new Histogram({ name, help, labelNames, buckets: bucketList, registers });
    this.timeToFirstToken = histogram(
      'vllm:time_to_first_token_seconds',
      'Histogram of time to first token in seconds.',
      buckets.timeToFirstToken,
    );
    this.timePerOutputTokenPerToken = histogram(
      'vllm:time_per_output_token_seconds',
      'Histogram of time per output token in seconds.',
      buckets.interToken,
    );
    this.interTokenLatency = histogram(
      'vllm:inter_token_latency_seconds',
      'Histogram of inter-token latency in seconds.',
      buckets.interToken,
    );
    this.timePerOutputToken = histogram(
      'vllm:request_time_per_output_token_seconds',
      'Histogram of time_per_output_token_seconds per request.',
      buckets.interToken,
    );
    this.endToEnd = histogram(
      'vllm:e2e_request_latency_seconds',
      'Histogram of e2e request latency in seconds.',
      buckets.requestLatency,
    );
    this.queueTime = histogram(
      'vllm:request_queue_time_seconds',
      'Histogram of time spent in WAITING phase for request.',
      buckets.requestLatency,
    );
    this.prefillTime = histogram(
      'vllm:request_prefill_time_seconds',
      'Histogram of time spent in PREFILL phase for request.',
      buckets.requestLatency,
    );
    this.decodeTime = histogram(
      'vllm:request_decode_time_seconds',
      'Histogram of time spent in DECODE phase for request.',
      buckets.requestLatency,
    );
    this.requestPromptTokens = histogram(
      'vllm:request_prompt_tokens',
      'Number of prefill tokens processed.',
      buckets.tokens,
    );
    this.requestGenerationTokens = histogram(
      'vllm:request_generation_tokens',
      'Number of generation tokens processed.',
      buckets.tokens,
    );
    this.requestMaxTokens = histogram(
      'vllm:request_params_max_tokens',
      'Histogram of the max_tokens request parameter.',
      buckets.tokens,
    );
    // vLLM exports its counters from start; a series that appears only later breaks rate() and dashboards.
    for (const counter of [this.promptTokens, this.generationTokens, this.prefixQueries, this.prefixHits])
      counter.inc(labels, 0);
  }

  /** Record a request at admission (prefix-cache queries and hits are counted in tokens). */
  recordScheduled(promptTokens: number, cachedTokens: number): void {
    this.prefixQueries.inc(this.labels, promptTokens);
    this.prefixHits.inc(this.labels, cachedTokens);
  }

  recordInterTokenLatency(seconds: number): void {
    this.interTokenLatency.observe(this.labels, seconds);
    this.timePerOutputTokenPerToken.observe(this.labels, seconds);
  }

  recordFinished(result: EngineRequestResult, maxTokens: number, finishedReason: string): void {
    const labels = this.labels;
    const timings = result.timings;
    this.promptTokens.inc(labels, result.promptTokens);
    this.generationTokens.inc(labels, result.completionTokens);
    this.requestPromptTokens.observe(labels, result.promptTokens);
    this.requestGenerationTokens.observe(labels, result.completionTokens);
    this.requestMaxTokens.observe(labels, maxTokens);
    // A request cut short by its client says nothing about latency: keep it out of the histograms.
    if (result.finishReason === 'abort') return;
    this.queueTime.observe(labels, timings.queueMilliseconds / 1000);
    this.endToEnd.observe(labels, timings.endToEndMilliseconds / 1000);
    if (result.completionTokens > 0) {
      this.timeToFirstToken.observe(labels, timings.timeToFirstTokenMilliseconds / 1000);
      this.prefillTime.observe(labels, timings.prefillMilliseconds / 1000);
      this.decodeTime.observe(labels, timings.decodeMilliseconds / 1000);
    }
    if (result.completionTokens > 1) {
      this.timePerOutputToken.observe(
        labels,
        timings.decodeMilliseconds / 1000 / (result.completionTokens - 1),
      );
    }
    if (result.finishReason !== 'error')
      this.requestSuccess.inc({ ...labels, finished_reason: finishedReason }, 1);
  }
}
