import { engineHashAlgorithms, parseEndpointKey } from '@llmd/core';
import { EngineMetricMappings } from '@llmd/epp';
import { z } from 'zod';

/** `ip:port` of a model server, as the EPP and the index key it. */
const endpointKeySchema = z
  .string()
  .trim()
  .refine(
    (value) => {
      try {
        parseEndpointKey(value);
        return true;
      } catch {
        return false;
      }
    },
    { error: (issue) => `"${String(issue.input)}" is not ip:port` },
  );

/**
 * A ZeroMQ endpoint to dial. A bind address (`tcp://*:5557`) is what the engine was configured
 * with, not where it can be reached, so it is refused with a hint instead of dialling nowhere.
 */
const dialEndpointSchema = z
  .string()
  .trim()
  .superRefine((value, context) => {
    if (/^(ipc|inproc):\/\/\S+$/.test(value)) return;
    const match = /^tcp:\/\/(\[[0-9A-Fa-f:.]+\]|[^\s:[\]/]+):(\d{1,5})$/.exec(value);
    if (!match) {
      context.addIssue({
        code: 'custom',
        message: `"${value}" is not a ZeroMQ endpoint such as tcp://10.0.0.7:5557`,
      });
    } else if (match[1] === '*' || match[1] === '0.0.0.0' || match[1] === '[::]') {
      context.addIssue({
        code: 'custom',
        message: `"${value}" is a bind address: give the engine's own address, e.g. tcp://10.0.0.7:${match[2]}`,
      });
    } else if (Number(match[2]) < 1 || Number(match[2]) > 65_535) {
      context.addIssue({ code: 'custom', message: `"${value}" has no valid port` });
    }
  });

/** Where an engine publishes its KV events, and optionally its replay socket. */
export interface DoctorKvEventTarget {
  /** The endpoint (`ip:port`) whose engine publishes there. */
  readonly endpointKey: string;
  /** The engine's PUB socket, e.g. `tcp://10.0.0.7:5557`. */
  readonly eventsEndpoint: string;
  /** The engine's replay ROUTER: the doctor then also sees what was published before it listened. */
  readonly replayEndpoint?: string | undefined;
}

const kvEventTargetObjectSchema = z
  .object({
    endpointKey: endpointKeySchema,
    eventsEndpoint: dialEndpointSchema,
    replayEndpoint: dialEndpointSchema.optional(),
  })
  .strict();

/** `ip:port=tcp://host:port[|tcp://host:replayPort]`, the form `llmd index --pod-event-endpoints` takes. */
const kvEventTargetTextSchema = z.string().transform((value, context) => {
  const match = /^([^=]+)=([^|]+)(?:\|(.+))?$/.exec(value.trim());
  if (!match) {
    context.addIssue({
      code: 'custom',
      message: `"${value}" is not ip:port=tcp://host:port[|tcp://host:replayPort]`,
    });
    return z.NEVER;
  }
  const parsed = kvEventTargetObjectSchema.safeParse({
    endpointKey: match[1],
    eventsEndpoint: match[2],
    ...(match[3] === undefined ? {} : { replayEndpoint: match[3] }),
  });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) context.addIssue({ code: 'custom', message: issue.message });
    return z.NEVER;
  }
  return parsed.data;
});

/** Either form; a hand-made union so that the error says what is wrong rather than "Invalid input". */
const kvEventTargetSchema = z
  .custom<string | DoctorKvEventTarget>(
    (value) => typeof value === 'string' || (typeof value === 'object' && value !== null),
    'expected ip:port=tcp://host:port[|tcp://host:replayPort] or { endpointKey, eventsEndpoint, replayEndpoint }',
  )
  .transform((value, context): DoctorKvEventTarget => {
    const parsed =
      typeof value === 'string'
        ? kvEventTargetTextSchema.safeParse(value)
        : kvEventTargetObjectSchema.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        context.addIssue({ code: 'custom', message: issue.message, path: issue.path });
      }
      return z.NEVER;
    }
    return parsed.data;
  });

const httpUrlSchema = z
  .string()
  .trim()
  .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), {
    error: (issue) => `"${String(issue.input)}" is not an http:// or https:// URL`,
  });

/** Engines whose metric names the EPP knows (data-layer.md §1), checked against the EPP's own table. */
const engineTypeSchema = z
  .string()
  .trim()
  .refine((value) => new EngineMetricMappings().get(value) !== undefined, {
    error: (issue) =>
      `unknown engine type "${String(issue.input)}"; expected vllm, sglang, trtllm, trtllm-serve or triton-tensorrt-llm`,
  });

/** What `runDoctor` checks. Every target is optional; at least one must be given. */
export const doctorOptionsSchema = z
  .object({
    /** Model servers (`ip:port`): reachability, metric names, traffic. */
    endpoints: z.array(endpointKeySchema).default([]),
    /** Engines' KV-event sockets; their endpoints are checked as model servers too. */
    kvEvents: z.array(kvEventTargetSchema).default([]),
    /** The KV-cache index service (`llmd index`), e.g. `http://127.0.0.1:8080`. */
    indexUrl: httpUrlSchema.optional(),
    /** The EPP's Prometheus endpoint, e.g. `http://127.0.0.1:9090/metrics`. */
    eppMetricsUrl: httpUrlSchema.optional(),
    /** The index's block size (llm-d `blockSizeTokens`). */
    blockSize: z.int().positive().optional(),
    /** The engines' `--prefix-caching-hash-algo` the index expects (default: what each engine reports). */
    hashAlgo: z.enum(engineHashAlgorithms).optional(),
    /** The engines' `PYTHONHASHSEED` the index expects. */
    hashSeed: z.string().optional(),
    /** Which metric names the EPP reads from the endpoints (`llm-d.ai/engine-type`). */
    engineType: engineTypeSchema.default('vllm'),
    /** How long to listen for KV events and to watch traffic counters. */
    listenMilliseconds: z.int().min(0).max(600_000).default(3_000),
    /** Timeout of each HTTP request and socket probe. */
    requestTimeoutMilliseconds: z.int().positive().max(600_000).default(2_000),
  })
  .strict()
  .refine(
    (options) =>
      options.endpoints.length > 0 ||
      options.kvEvents.length > 0 ||
      options.indexUrl !== undefined ||
      options.eppMetricsUrl !== undefined,
    {
      message: 'nothing to check: give endpoints, KV-event sockets, an index URL or an EPP metrics URL',
      path: ['endpoints'],
    },
  )
  .refine(
    (options) =>
      new Set(options.kvEvents.map((target) => target.endpointKey)).size === options.kvEvents.length,
    { message: 'each endpoint may have one KV-event socket', path: ['kvEvents'] },
  );

export type DoctorOptionsInput = z.input<typeof doctorOptionsSchema>;
export type DoctorOptions = z.output<typeof doctorOptionsSchema>;
