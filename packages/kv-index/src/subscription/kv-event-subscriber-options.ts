import { type Logger, parseWithSchema } from '@llmd/core';
import { z } from 'zod';
import type { DecodeKvEventBatchOptions } from '../events/decode-kv-event-batch.js';
import type { KvEventDelivery, KvEventPublisherIdentity, KvEventUncertainty } from './kv-event-delivery.js';

export interface KvEventSubscriberCommonOptions {
  /**
   * Receives every decoded batch, in sequence order per publisher. A returned promise is awaited
   * before that publisher's next batch (other publishers are not held up). Errors are counted
   * (`handlerErrors`) and logged; the batch still counts as delivered.
   */
  readonly onBatch: (delivery: KvEventDelivery) => void | Promise<void>;
  /** Batches were lost for good (see {@link KvEventUncertainty}); the stream continues. */
  readonly onUncertain?: (
    endpointKey: string,
    uncertainty: KvEventUncertainty,
    publisher: KvEventPublisherIdentity,
  ) => void;
  /** The engine restarted (its sequence went back); called before the new process's first batch. */
  readonly onRestart?: (endpointKey: string, publisher: KvEventPublisherIdentity) => void;
  /** SUB prefix filter on the topic frame (default `kv@`; `''` receives everything). */
  readonly topicFilter?: string;
  /** Port for topics of the older `kv@<ip>@<model>` form. */
  readonly defaultPort?: number;
  /** Longest wait for a replay request to be sent and for each reply (default 5,000 ms). */
  readonly replayTimeoutMilliseconds?: number;
  /** Replays running at once across all publishers (default 4). */
  readonly maxConcurrentReplays?: number;
  /** Live batches a publisher may have waiting, e.g. behind a replay (default 10,000). */
  readonly maxQueuedBatchesPerPublisher?: number;
  /** Publishers tracked at once; protects central mode from arbitrary topics (default 4,096). */
  readonly maxPublishers?: number;
  /** ZeroMQ receive high-water mark per SUB socket (default 100,000, vLLM's send-side default). */
  readonly receiveHighWaterMark?: number;
  /** ZeroMQ drops (and disconnects) peers sending larger messages (default 256 MiB). */
  readonly maxMessageBytes?: number;
  /** Malformed input is logged at most once per endpoint per interval (default 60,000 ms). */
  readonly malformedLogIntervalMilliseconds?: number;
  readonly decoder?: DecodeKvEventBatchOptions;
  /** Clock in milliseconds, for log throttling and `lastEventTime` (default `Date.now`). */
  readonly now?: () => number;
  readonly logger?: Logger;
}

/** One SUB socket binds (e.g. `tcp://*:5557`); engines connect to it and are told apart by topic. */
export interface CentralKvEventSubscriberOptions extends KvEventSubscriberCommonOptions {
  readonly mode: 'central';
  readonly bindEndpoint: string;
  /** The replay ROUTER of an endpoint's engine, when it has one. */
  readonly replayEndpoints?: (endpointKey: string, publisher: KvEventPublisherIdentity) => string | undefined;
}

/** The subscriber dials each engine as discovery reports it (`addEndpoint` / `removeEndpoint`). */
export interface PerPodKvEventSubscriberOptions extends KvEventSubscriberCommonOptions {
  readonly mode: 'per-pod';
}

export type KvEventSubscriberOptions = CentralKvEventSubscriberOptions | PerPodKvEventSubscriberOptions;

/** An engine to dial in per-pod mode. */
export interface KvEventEndpointTarget {
  /** `ip:port` of the model-server endpoint; batches are delivered under this key. */
  readonly endpointKey: string;
  /** The engine's PUB socket, e.g. `tcp://10.0.0.7:5557`. */
  readonly eventsEndpoint: string;
  /**
   * The engine's replay ROUTER, e.g. `tcp://10.0.0.7:5558`: asked for everything from sequence 0
   * once the events socket connects, then to fill sequence gaps.
   */
  readonly replayEndpoint?: string;
}

const zmqEndpointSchema = z
  .string()
  .regex(
    /^(tcp|ipc|inproc):\/\/\S+$/,
    'expected a ZeroMQ endpoint such as tcp://*:5557 or tcp://10.0.0.7:5557',
  );

const functionSchema = <Function>() =>
  z.custom<Function>((value) => typeof value === 'function', 'expected a function');

const commonShape = {
  onBatch: functionSchema<KvEventSubscriberCommonOptions['onBatch']>(),
  onUncertain: functionSchema<NonNullable<KvEventSubscriberCommonOptions['onUncertain']>>().optional(),
  onRestart: functionSchema<NonNullable<KvEventSubscriberCommonOptions['onRestart']>>().optional(),
  topicFilter: z.string().default('kv@'),
  defaultPort: z.int().min(1).max(65_535).optional(),
  replayTimeoutMilliseconds: z.int().positive().default(5_000),
  maxConcurrentReplays: z.int().positive().default(4),
  maxQueuedBatchesPerPublisher: z.int().positive().default(10_000),
  maxPublishers: z.int().positive().default(4_096),
  receiveHighWaterMark: z.int().nonnegative().default(100_000),
  maxMessageBytes: z
    .int()
    .positive()
    .default(256 * 1024 * 1024),
  malformedLogIntervalMilliseconds: z.number().nonnegative().default(60_000),
  decoder: z
    .object({
      maxBlockHashesPerEvent: z.int().positive().optional(),
      maxTokensPerEvent: z.int().positive().optional(),
      maxEventsPerBatch: z.int().positive().optional(),
    })
    .default({}),
  now: functionSchema<() => number>().optional(),
  logger: z
    .custom<Logger>((value) => typeof value === 'object' && value !== null, 'expected a Logger')
    .optional(),
};

const optionsSchema = z.discriminatedUnion('mode', [
  z.object({
    ...commonShape,
    mode: z.literal('central'),
    bindEndpoint: zmqEndpointSchema,
    replayEndpoints:
      functionSchema<NonNullable<CentralKvEventSubscriberOptions['replayEndpoints']>>().optional(),
  }),
  z.object({ ...commonShape, mode: z.literal('per-pod') }),
]);

export type ResolvedKvEventSubscriberOptions = z.output<typeof optionsSchema>;

/** Validates options and fills defaults; errors are `invalid_argument` and name the field. */
export function resolveKvEventSubscriberOptions(
  options: KvEventSubscriberOptions,
): ResolvedKvEventSubscriberOptions {
  return parseWithSchema(optionsSchema, options, 'invalid_argument', 'KV-event subscriber options');
}

const endpointTargetSchema = z.object({
  endpointKey: z.string().trim().min(1),
  eventsEndpoint: zmqEndpointSchema,
  replayEndpoint: zmqEndpointSchema.optional(),
});

export function resolveKvEventEndpointTarget(target: KvEventEndpointTarget): KvEventEndpointTarget {
  return parseWithSchema(endpointTargetSchema, target, 'invalid_argument', 'KV-event endpoint');
}
