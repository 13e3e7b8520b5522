import { engineHashAlgorithms } from '@llmd/core';
import { z } from 'zod';
import { durationSchema } from './duration.js';

const jsonObject = (name: string) =>
  z.union([z.string(), z.record(z.string(), z.unknown())]).transform((value, context) => {
    if (typeof value !== 'string') return value;
    try {
      const parsed: unknown = JSON.parse(value);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        return parsed as Record<string, unknown>;
    } catch {
      // reported below
    }
    context.addIssue({ code: 'custom', message: `${name} must be a JSON object` });
    return z.NEVER;
  });

/** `name=path` (vLLM's short form) or a JSON object `{"name", "path", "base_model_name"}`. */
const loraModuleSchema = z
  .union([
    z.string(),
    z.object({ name: z.string(), path: z.string().optional(), base_model_name: z.string().optional() }),
  ])
  .transform((value, context) => {
    if (typeof value !== 'string') return { name: value.name, path: value.path ?? value.name };
    const trimmed = value.trim();
    if (trimmed.startsWith('{')) {
      try {
        const parsed = JSON.parse(trimmed) as { name?: unknown; path?: unknown };
        if (typeof parsed.name === 'string') {
          return { name: parsed.name, path: typeof parsed.path === 'string' ? parsed.path : parsed.name };
        }
      } catch {
        // reported below
      }
    } else if (/^[^=]+=.+$/.test(trimmed)) {
      const [name, path] = trimmed.split('=', 2) as [string, string];
      return { name, path };
    } else if (trimmed.length > 0) {
      return { name: trimmed, path: trimmed };
    }
    context.addIssue({
      code: 'custom',
      message: `"${value}" is not name=path or a JSON {"name","path"} object`,
    });
    return z.NEVER;
  });

export const failureTypes = [
  'rate_limit',
  'invalid_api_key',
  'context_length',
  'server_error',
  'invalid_request',
  'model_not_found',
] as const;
export type FailureType = (typeof failureTypes)[number];

const count = z.coerce.number().int();

/**
 * Every simulator setting. Keys are the camelCase of vLLM's flag names (and llm-d-inference-sim's
 * for simulator-only knobs): `maxNumSeqs` is `--max-num-seqs`. Durations take Go strings or ms.
 */
export const simConfigSchema = z
  .object({
    host: z.string().default('127.0.0.1').describe('address to listen on'),
    port: count
      .min(0)
      .max(65535)
      .default(8000)
      .describe('HTTP port (0 picks a free one); DP rank i listens on port+i'),
    model: z.string().min(1).default('random').describe('model name (vLLM --model)'),
    servedModelName: z
      .union([z.string(), z.array(z.string())])
      .transform((value) => (Array.isArray(value) ? value : [value]))
      .optional()
      .describe('names the API accepts for the model; the first one is reported'),
    tokenizer: z
      .string()
      .optional()
      .describe(
        'tokenizer.json, folder or cached Hugging Face model name; without it a deterministic word tokenizer',
      ),
    blockSize: count
      .refine(
        (value) => [1, 2, 4, 8, 16, 32, 64, 128, 256].includes(value),
        'must be a power of two up to 256',
      )
      .default(16)
      .describe('tokens per KV block'),
    numGpuBlocks: count
      .positive()
      .default(8192)
      .describe('KV blocks in the GPU pool (vLLM --num-gpu-blocks-override)'),
    cpuOffloadBlocks: count
      .min(0)
      .default(0)
      .describe('blocks of the CPU tier keeping evicted blocks (0: off)'),
    maxNumSeqs: count.positive().default(5).describe('requests running at once (continuous batching)'),
    maxWaitingQueueLength: count.positive().default(1000).describe('queued requests before new ones get 429'),
    maxModelLen: count.positive().default(32768).describe('maximum prompt + completion tokens'),
    prefixCachingHashAlgo: z
      .enum(engineHashAlgorithms)
      .default('sha256')
      .describe('block hash algorithm (vLLM default sha256)'),
    hashSeed: z
      .string()
      .optional()
      .describe('hash seed (default: PYTHONHASHSEED; unset: random per process, as vLLM)'),
    kvEventsConfig: jsonObject('--kv-events-config').optional().describe('vLLM KVEventsConfig JSON'),
    kvTransferConfig: jsonObject('--kv-transfer-config')
      .optional()
      .describe('vLLM KVTransferConfig JSON (P/D roles come from requests)'),
    useVllmMapEventFormat: z
      .boolean()
      .default(false)
      .describe('encode KV events as tagged maps (vLLM >= 0.24) instead of arrays'),
    dataParallelSize: count
      .min(1)
      .max(8)
      .default(1)
      .describe('DP ranks, each with its own port, KV pool, metrics and events'),
    loraModules: z
      .array(loraModuleSchema)
      .default([])
      .describe('LoRA adapters: name=path or {"name","path","base_model_name"}'),
    maxLoras: count.positive().default(1).describe('adapters that may run at once'),
    mode: z
      .enum(['random', 'echo'])
      .default('random')
      .describe('random text, or echo the prompt / last user message'),
    seed: count.default(0).describe('seed for jitter and random responses'),
    timeScale: z.coerce
      .number()
      .positive()
      .default(1)
      .describe('run this many times faster than real time (reported times stay real)'),
    latencyCalculator: z
      .enum(['constant', 'per-token', ''])
      .default('')
      .describe(
        'constant TTFT or per-token prefill ("" picks per-token unless only --time-to-first-token is set)',
      ),
    timeToFirstToken: durationSchema.default(0).describe('TTFT in constant mode'),
    timeToFirstTokenStdDev: durationSchema.default(0),
    prefillOverhead: durationSchema.default(10).describe('per-token mode: fixed part of TTFT'),
    prefillTimePerToken: durationSchema
      .default(0.1)
      .describe('per-token mode: time per uncached prompt token'),
    prefillTimeStdDev: durationSchema.default(0),
    interTokenLatency: durationSchema.default(10).describe('time per output token after the first'),
    interTokenLatencyStdDev: durationSchema.default(0),
    kvCacheTransferLatency: durationSchema.default(0).describe('P/D decode, constant mode: replaces TTFT'),
    kvCacheTransferLatencyStdDev: durationSchema.default(0),
    kvCacheTransferTimePerToken: durationSchema
      .default(0.01)
      .describe('P/D decode, per-token mode: time per transferred token'),
    kvCacheTransferTimeStdDev: durationSchema.default(0),
    timeFactorUnderLoad: z.coerce
      .number()
      .min(1)
      .default(1)
      .describe('TTFT/ITL multiplier reached at max-num-seqs running requests'),
    failureInjectionRate: z.coerce
      .number()
      .min(0)
      .max(100)
      .default(0)
      .describe('percent of requests that fail'),
    failureTypes: z
      .array(z.enum(failureTypes))
      .default([])
      .describe(`failure kinds: ${failureTypes.join(', ')}`),
    startupDuration: durationSchema
      .default(0)
      .describe('not ready (503 on /health/ready) until this has passed'),
    maxRequestBodySizeMb: z.coerce
      .number()
      .positive()
      .default(4)
      .describe('request bodies above this get 413'),
    enableRequestIdHeaders: z.boolean().default(false).describe('echo X-Request-Id'),
    remoteBlockTimeout: durationSchema
      .default(480_000)
      .describe('P/D prefill: how long blocks wait for the decoder'),
  })
  .strict()
  .refine((config) => config.maxModelLen <= config.numGpuBlocks * config.blockSize, {
    // vLLM refuses to start in this case too: a full-length request could never be scheduled.
    message: 'is larger than the KV cache can hold (num-gpu-blocks × block-size); lower it or add blocks',
    path: ['maxModelLen'],
  });

export type SimConfigInput = z.input<typeof simConfigSchema>;
export type SimConfig = z.output<typeof simConfigSchema>;

/** vLLM flags a simulator accepts and ignores, so the same manifests run against it. */
export const ignoredVllmFlags = [
  'tensor-parallel-size',
  'enforce-eager',
  'enable-prefix-caching',
  'no-enable-prefix-caching',
  'gpu-memory-utilization',
  'mm-processor-kwargs',
  'ec-transfer-config',
  'mm-encoder-only',
  'trust-remote-code',
  'dtype',
] as const;
