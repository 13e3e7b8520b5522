import { type Endpoint, formatEndpointKey, type Logger } from '@llmd/core';
import {
  createKvEventSubscriber,
  type KvEventDelivery,
  type KvEventSubscriber,
  type KvIndex,
} from '@llmd/kv-index';
import type { PreciseSettings } from './precise-prefix-cache-parameters.js';

/** The engines' KV events flowing into one index. */
export interface KvEventFeed {
  readonly subscriber: KvEventSubscriber;
  /** Per-pod mode: dial the endpoint's engine (idempotent). Central mode: nothing to do. */
  follow(endpoint: Endpoint): void;
  /** Stop following an endpoint and forget every block it held. */
  forget(endpoint: Endpoint): Promise<void>;
  close(): Promise<void>;
}

/** `tcp://host:port`, with IPv6 literals bracketed. */
function zmqAddress(address: string, port: number): string {
  return `tcp://${formatEndpointKey(address, port)}`;
}

/**
 * Subscribes to the engines' KV events (kv-events.md §4, §7) and applies them to `index` in order
 * per engine. Per-pod mode (`discoverPods: true`) dials each endpoint of the pool at
 * `socketPort` (and its replay socket at `replaySocketPort`); central mode binds `zmqEndpoint`.
 * An engine restart (its sequence numbers start over) clears that engine's entries before its new
 * batches are applied, so blocks of the old process never score.
 */
export async function startKvEventFeed(
  index: KvIndex,
  settings: PreciseSettings,
  logger: Logger,
): Promise<KvEventFeed> {
  const { kvEvents } = settings;
  const discovery = kvEvents.podDiscoveryConfig;
  // A restart's clear runs at once; the stream's next batch waits for it.
  const pendingClears = new Map<string, Promise<void>>();
  const streamKey = (endpointKey: string, dataParallelRank: number | null) =>
    `${endpointKey}|${dataParallelRank ?? ''}`;
  const failed = (what: string, endpointKey: string) => (error: unknown) =>
    logger.error(
      { endpoint: endpointKey, error: error instanceof Error ? error.message : String(error) },
      what,
    );

  const common = {
    topicFilter: kvEvents.topicFilter,
    logger,
    onBatch: async (delivery: KvEventDelivery) => {
      const key = streamKey(delivery.endpointKey, delivery.dataParallelRank);
      const clear = pendingClears.get(key);
      if (clear) {
        await clear;
        pendingClears.delete(key);
      }
      await index.ingest({
        endpointKey: delivery.endpointKey,
        modelName: delivery.modelName,
        batch: delivery.batch,
      });
    },
    onRestart: (endpointKey: string, publisher: { readonly dataParallelRank: number | null }) => {
      const clear = index
        .clearEndpoint(endpointKey, publisher.dataParallelRank)
        .catch(failed('clearing a restarted engine failed', endpointKey));
      pendingClears.set(streamKey(endpointKey, publisher.dataParallelRank), clear);
    },
    onUncertain: (endpointKey: string) =>
      logger.warn(
        { endpoint: endpointKey },
        'KV events were lost for good: scores for this endpoint may be stale until it restarts',
      ),
  };
  const subscriber = kvEvents.discoverPods
    ? await createKvEventSubscriber({ ...common, mode: 'per-pod' })
    : await createKvEventSubscriber({
        ...common,
        mode: 'central',
        bindEndpoint: kvEvents.zmqEndpoint,
        ...(discovery.replaySocketPort > 0
          ? {
              replayEndpoints: (
                endpointKey: string,
                publisher: { readonly dataParallelRank: number | null },
              ) => {
                const separator = endpointKey.lastIndexOf(':');
                const address = endpointKey.slice(0, separator).replace(/^\[|\]$/g, '');
                // vLLM offsets the replay port by the data-parallel rank, like the events port.
                return zmqAddress(address, discovery.replaySocketPort + (publisher.dataParallelRank ?? 0));
              },
            }
          : {}),
      });

  return {
    subscriber,
    follow(endpoint) {
      if (!kvEvents.discoverPods) return;
      subscriber.addEndpoint({
        endpointKey: endpoint.key,
        eventsEndpoint: zmqAddress(endpoint.address, discovery.socketPort),
        ...(discovery.replaySocketPort > 0
          ? { replayEndpoint: zmqAddress(endpoint.address, discovery.replaySocketPort) }
          : {}),
      });
    },
    async forget(endpoint) {
      subscriber.removeEndpoint(endpoint.key);
      pendingClears.delete(streamKey(endpoint.key, null));
      await index.clearEndpoint(endpoint.key);
    },
    close: () => subscriber.close(),
  };
}
