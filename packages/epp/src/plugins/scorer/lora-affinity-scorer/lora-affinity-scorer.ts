import { definePlugin } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';

/** Scores, best first, for where a LoRA adapter request can run (llm-d's values). */
export const loraAffinityScores = Object.freeze({
  /** The adapter is loaded: no load latency. */
  active: 1,
  /** The engine has a free adapter slot (`active + waiting < maxActiveModels`). */
  room: 0.8,
  /** The adapter is already queued to load here. */
  waiting: 0.6,
  /** No slot and not queued: the request would wait for an adapter to be evicted. */
  full: 0,
});

/**
 * Routes LoRA adapter requests (`targetModel` = adapter name) to engines that have the adapter
 * loaded, then to engines with a free adapter slot, then to engines already loading it.
 *
 * Base-model requests: when no candidate lists the target model as an active or waiting adapter and
 * no candidate reports adapter capacity (`maxActiveModels` 0 everywhere: LoRA off or unknown), the
 * request cannot be an adapter request this pool tracks, so every candidate scores 1 (equally good)
 * instead of llm-d's uniform 0. The ranking is the same either way; 1 keeps weighted totals meaningful.
 */
export const loraAffinityScorerPlugin = definePlugin({
  type: 'lora-affinity-scorer',
  stability: 'Stable',
  create: () => ({
    category: 'Affinity',
    score(request, endpoints) {
      const target = request.targetModel;
      const scores = new Map<SchedulingEndpoint, number>();
      let adapterAware = false;
      for (const candidate of endpoints) {
        const { activeModels, waitingModels, maxActiveModels } = candidate.metrics;
        if (maxActiveModels > 0 || activeModels.includes(target) || waitingModels.includes(target)) {
          adapterAware = true;
          break;
        }
      }
      for (const candidate of endpoints) {
        if (!adapterAware) {
          scores.set(candidate, loraAffinityScores.active);
          continue;
        }
        const { activeModels, waitingModels, maxActiveModels } = candidate.metrics;
        if (activeModels.includes(target)) scores.set(candidate, loraAffinityScores.active);
        else if (activeModels.length + waitingModels.length < maxActiveModels)
          scores.set(candidate, loraAffinityScores.room);
        else if (waitingModels.includes(target)) scores.set(candidate, loraAffinityScores.waiting);
        else scores.set(candidate, loraAffinityScores.full);
      }
      return scores;
    },
  }),
});
