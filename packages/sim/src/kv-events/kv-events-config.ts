import { LlmdError, parseWithSchema } from '@llmd/core';
import { z } from 'zod';
import type { KvEventPublisherOptions } from './kv-event-publisher.js';
import { zmqEndpointSchema } from './zmq-endpoint-schema.js';

const knownFields: ReadonlySet<string> = new Set([
  'enable_kv_cache_events',
  'publisher',
  'endpoint',
  'replay_endpoint',
  'buffer_steps',
  'hwm',
  'max_queue_size',
  'topic',
]);

/**
 * vLLM's `--kv-events-config` JSON (`KVEventsConfig`, kv-events.md §5): snake_case on input, with
 * vLLM's defaults, parsed into camelCase. Strict: a misspelt `replay_endpont` would otherwise
 * silently disable replay.
 */
export const kvEventsConfigSchema = z
  .looseObject({
    enable_kv_cache_events: z.boolean().default(false),
    // vLLM's publisher registry is extensible, but "null" and "zmq" are the only ones it ships.
    publisher: z.enum(['null', 'zmq']).nullable().default(null),
    endpoint: zmqEndpointSchema.default('tcp://*:5557'),
    replay_endpoint: zmqEndpointSchema.nullable().default(null),
    buffer_steps: z.int().positive().default(10_000),
    hwm: z.int().nonnegative().default(100_000),
    max_queue_size: z.int().positive().default(100_000),
    topic: z.string().default(''),
  })
  // A loose object checked by hand rather than zod's strict mode, so that the issue's path is the
  // unknown field itself and the error reads `--kv-events-config replay_endpont: unknown field …`.
  .superRefine((config, context) => {
    for (const field of Object.keys(config)) {
      if (knownFields.has(field)) continue;
      context.addIssue({
        code: 'custom',
        path: [field],
        message: `unknown field (expected one of ${[...knownFields].join(', ')})`,
      });
    }
  })
  .transform((config) => ({
    enableKvCacheEvents: config.enable_kv_cache_events,
    // vLLM's __post_init__: an unset publisher follows the master switch.
    publisher: config.publisher ?? (config.enable_kv_cache_events ? 'zmq' : 'null'),
    endpoint: config.endpoint,
    replayEndpoint: config.replay_endpoint,
    bufferSteps: config.buffer_steps,
    hwm: config.hwm,
    maxQueueSize: config.max_queue_size,
    topic: config.topic,
  }));

export type KvEventsConfig = z.output<typeof kvEventsConfigSchema>;

const subject = '--kv-events-config';

/** Parses the flag's JSON text; errors are `invalid_config` and name the offending field. */
export function parseKvEventsConfig(jsonText: string): KvEventsConfig {
  let value: unknown;
  try {
    value = JSON.parse(jsonText);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new LlmdError('invalid_config', `${subject} is not valid JSON: ${reason}`, { cause: error });
  }
  return parseWithSchema(kvEventsConfigSchema, value, 'invalid_config', subject);
}

/**
 * Publisher options for a parsed config, or `undefined` when events are off (the switch is off or
 * the publisher is "null"). The data-parallel rank is the caller's: it also offsets the endpoints.
 */
export function kvEventPublisherOptionsFromConfig(
  config: KvEventsConfig,
): Omit<KvEventPublisherOptions, 'dataParallelRank' | 'format' | 'now' | 'logger'> | undefined {
  if (!config.enableKvCacheEvents || config.publisher === 'null') return undefined;
  return {
    endpoint: config.endpoint,
    topic: config.topic,
    replayEndpoint: config.replayEndpoint,
    bufferSteps: config.bufferSteps,
    hwm: config.hwm,
    maxQueueSize: config.maxQueueSize,
  };
}
