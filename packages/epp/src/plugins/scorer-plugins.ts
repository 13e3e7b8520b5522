import type { PluginDefinition } from '../plugin/define-plugin.js';
import { inflightLoadProducerPlugin } from './producer/inflight-load-producer/inflight-load-producer.js';
import { activeRequestScorerPlugin } from './scorer/active-request-scorer/active-request-scorer.js';
import { kvCacheUtilizationScorerPlugin } from './scorer/kv-cache-utilization-scorer/kv-cache-utilization-scorer.js';
import { loadAwareScorerPlugin } from './scorer/load-aware-scorer/load-aware-scorer.js';
import { loraAffinityScorerPlugin } from './scorer/lora-affinity-scorer/lora-affinity-scorer.js';
import { noHitLruScorerPlugin } from './scorer/no-hit-lru-scorer/no-hit-lru-scorer.js';
import { queueScorerPlugin } from './scorer/queue-scorer/queue-scorer.js';
import { runningRequestsSizeScorerPlugin } from './scorer/running-requests-size-scorer/running-requests-size-scorer.js';
import { sessionAffinityScorerPlugin } from './scorer/session-affinity-scorer/session-affinity-scorer.js';
import { tokenLoadScorerPlugin } from './scorer/token-load-scorer/token-load-scorer.js';

/**
 * Load, affinity and LRU scorers, plus `inflight-load-producer`, the default producer of the
 * in-flight data that `active-request-scorer` and `token-load-scorer` read.
 */
// biome-ignore lint/suspicious/noExplicitAny: definitions of any parameter schema live side by side.
export const scorerPlugins: ReadonlyArray<PluginDefinition<any>> = [
  queueScorerPlugin,
  kvCacheUtilizationScorerPlugin,
  runningRequestsSizeScorerPlugin,
  loadAwareScorerPlugin,
  activeRequestScorerPlugin,
  tokenLoadScorerPlugin,
  loraAffinityScorerPlugin,
  sessionAffinityScorerPlugin,
  noHitLruScorerPlugin,
  inflightLoadProducerPlugin,
];
