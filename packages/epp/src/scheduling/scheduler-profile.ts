import type { LoadedPlugin } from '../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../plugin/endpoint-state.js';
import type {
  FilterPlugin,
  PickerPlugin,
  PluginBehaviour,
  ProfileRunResult,
  ScoredEndpoint,
  ScorerPlugin,
} from '../plugin/plugin-interfaces.js';
import type { SchedulingRequest } from '../plugin/scheduling-request.js';
import type { PluginRunObserver } from './plugin-run-observer.js';

export interface ProfileFilter {
  readonly plugin: LoadedPlugin;
  readonly filter: FilterPlugin & PluginBehaviour;
}
export interface WeightedScorer {
  readonly plugin: LoadedPlugin;
  readonly scorer: ScorerPlugin & PluginBehaviour;
  readonly weight: number;
}
export interface ProfilePicker {
  readonly plugin: LoadedPlugin;
  readonly picker: PickerPlugin & PluginBehaviour;
}

/** A scheduling profile is data: filters in order, weighted scorers, one picker. */
export interface SchedulerProfile {
  readonly name: string;
  readonly filters: ReadonlyArray<ProfileFilter>;
  readonly scorers: ReadonlyArray<WeightedScorer>;
  readonly picker: ProfilePicker;
}

function clampScore(value: number): number {
  if (!(value > 0)) return 0; // also maps NaN to 0
  return Math.min(value, 1);
}

/**
 * Runs one profile: filters in sequence (stopping as soon as none is left), then the weighted sum
 * of clamped scorer outputs (not divided by the sum of weights, as llm-d), then the picker. A plugin
 * that throws is contained: a failing filter passes its input through, a failing scorer scores 0.
 */
export function runSchedulerProfile(
  profile: SchedulerProfile,
  request: SchedulingRequest,
  candidates: ReadonlyArray<SchedulingEndpoint>,
  observer: PluginRunObserver,
): ProfileRunResult | null {
  let endpoints = candidates;
  for (const { plugin, filter } of profile.filters) {
    const started = observer.start();
    try {
      endpoints = filter.filter(request, endpoints);
      observer.finish('Filter', plugin, started);
    } catch (error) {
      observer.fail('Filter', plugin, started, error);
    }
    if (endpoints.length === 0) return null;
  }

  const totals = new Float64Array(endpoints.length);
  const scoresByScorer = new Map<string, Map<string, number>>();
  for (const { plugin, scorer, weight } of profile.scorers) {
    const started = observer.start();
    let scores: ReadonlyMap<SchedulingEndpoint, number> | undefined;
    try {
      scores = scorer.score(request, endpoints);
      observer.finish('Scorer', plugin, started);
    } catch (error) {
      observer.fail('Scorer', plugin, started, error);
    }
    const byEndpoint = new Map<string, number>();
    for (let index = 0; index < endpoints.length; index++) {
      const endpoint = endpoints[index] as SchedulingEndpoint;
      const score = clampScore(scores?.get(endpoint) ?? 0);
      byEndpoint.set(endpoint.endpoint.key, score);
      totals[index] = (totals[index] as number) + weight * score;
    }
    scoresByScorer.set(plugin.name, byEndpoint);
  }

  const scored: ScoredEndpoint[] = new Array(endpoints.length);
  const totalsByKey = new Map<string, number>();
  for (let index = 0; index < endpoints.length; index++) {
    const endpoint = endpoints[index] as SchedulingEndpoint;
    scored[index] = { endpoint, score: totals[index] as number };
    totalsByKey.set(endpoint.endpoint.key, totals[index] as number);
  }

  const started = observer.start();
  let targets: ReadonlyArray<SchedulingEndpoint>;
  try {
    targets = profile.picker.picker.pick(request, scored);
    observer.finish('Picker', profile.picker.plugin, started);
  } catch (error) {
    observer.fail('Picker', profile.picker.plugin, started, error);
    // A broken picker must not drop the request: fall back to the best total.
    let best = scored[0] as ScoredEndpoint;
    for (const candidate of scored) if (candidate.score > best.score) best = candidate;
    targets = [best.endpoint];
  }
  if (targets.length === 0) return null;
  return { profileName: profile.name, targets, totals: totalsByKey, scoresByScorer };
}
