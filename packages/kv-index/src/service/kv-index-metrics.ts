import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { KvIndexBackend } from '../index/kv-index-backend.js';
import type { KvIndex } from '../ingest/kv-index.js';

export interface SubscriberCounters {
  batches: number;
  events: number;
  gaps: number;
  replays: number;
  restarts: number;
  malformed: number;
  unknownEventTags: number;
  droppedBatches: number;
  uncertainties: number;
  handlerErrors: number;
}

/** The index service's own registry: counters read from the index and subscriber at scrape time. */
export class KvIndexMetrics {
  readonly registry = new Registry();
  readonly lookupLatency: Histogram;
  readonly lookups: Counter;

  constructor(index: KvIndex, subscriberCounters: () => SubscriberCounters, backend?: KvIndexBackend) {
    const registers = [this.registry];
    // Totals live in the index and subscriber; at scrape time each counter advances by what they
    // counted since the last scrape, so the exposition type stays `counter`.
    const fromIndex = (name: string, help: string, read: () => number) => {
      if (!name.endsWith('_total')) {
        return new Gauge({
          name,
          help,
          registers,
          collect() {
            this.set(read());
          },
        });
      }
      let reported = 0;
      return new Counter({
        name,
        help,
        registers,
        collect() {
          const current = read();
          if (current > reported) this.inc(current - reported);
          reported = Math.max(reported, current);
        },
      });
    };
    fromIndex(
      'kvcache_index_admissions_total',
      'Blocks stored in the index.',
      () => index.counters.storedBlocks,
    );
    fromIndex(
      'kvcache_index_evictions_total',
      'Blocks removed from the index by BlockRemoved events.',
      () => index.counters.removedBlocks,
    );
    fromIndex(
      'kvcache_index_clears_total',
      'Endpoint clears (AllBlocksCleared, engine restarts, removals).',
      () => index.counters.clears,
    );
    fromIndex(
      'kvcache_index_stitched_events_total',
      'Events that waited for their parent block and were indexed once it arrived.',
      () => index.counters.stitchedEvents,
    );
    fromIndex(
      'kvcache_index_orphaned_events_total',
      'Events dropped because their parent never arrived.',
      () => index.counters.orphanedEvents,
    );
    fromIndex(
      'kvcache_index_pending_events',
      'Events waiting for their parent block.',
      () => index.pendingEvents,
    );
    fromIndex(
      'kvcache_index_engine_hash_mismatches_total',
      'Root events whose hashes differ from the configured engine algorithm and seed.',
      () => index.counters.engineHashMismatches,
    );
    fromIndex(
      'kvcache_index_block_size_mismatches_total',
      'Events whose block size is not a multiple of the index block size.',
      () => index.counters.blockSizeMismatches,
    );
    const events = subscriberCounters;
    fromIndex('kvcache_index_event_batches_total', 'KV-event batches received.', () => events().batches);
    fromIndex('kvcache_index_events_total', 'KV events received.', () => events().events);
    fromIndex(
      'kvcache_index_sequence_gaps_total',
      'Sequence gaps detected on publisher streams.',
      () => events().gaps,
    );
    fromIndex('kvcache_index_replays_total', 'Replays requested from publishers.', () => events().replays);
    fromIndex(
      'kvcache_index_engine_restarts_total',
      'Publisher sequence resets (engine restarts).',
      () => events().restarts,
    );
    fromIndex(
      'kvcache_index_malformed_messages_total',
      'Messages that could not be decoded.',
      () => events().malformed,
    );
    fromIndex(
      'kvcache_index_unknown_event_tags_total',
      'Events with a tag this index does not know (skipped).',
      () => events().unknownEventTags,
    );
    fromIndex(
      'kvcache_index_dropped_batches_total',
      'Live batches dropped because a publisher queue was full (replayed later when possible).',
      () => events().droppedBatches,
    );
    fromIndex(
      'kvcache_index_uncertain_streams_total',
      'Times a stream lost batches for good (no replay).',
      () => events().uncertainties,
    );
    fromIndex(
      'kvcache_index_handler_errors_total',
      'Batches whose indexing failed (for example the backend was unreachable).',
      () => events().handlerErrors,
    );
    if (backend) {
      new Gauge({
        name: 'kvcache_index_blocks',
        help: 'Blocks held per tier, over all endpoints.',
        labelNames: ['tier'],
        registers,
        async collect() {
          const totals = new Map<string, number>();
          for (const endpoint of await backend.endpointStats()) {
            for (const [tier, count] of Object.entries(endpoint.blocksByTier))
              totals.set(tier, (totals.get(tier) ?? 0) + count);
          }
          this.reset();
          for (const [tier, count] of totals) this.set({ tier }, count);
        },
      });
    }
    this.lookups = new Counter({
      name: 'kvcache_index_lookup_requests_total',
      help: 'Score lookups served.',
      registers,
    });
    this.lookupLatency = new Histogram({
      name: 'kvcache_index_lookup_latency_seconds',
      help: 'Time to hash and score one lookup.',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers,
    });
  }
}
