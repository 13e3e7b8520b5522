import { LlmdError } from '@llmd/core';
import type { PluginDefinition } from '@llmd/epp';
import { findWellLitPath, type PathContext, type WellLitPath } from '../up/well-lit-paths.js';
import { roundRobinPickerPlugin } from './round-robin-picker.js';

export const routingSetupNames = ['random', 'round-robin', 'load', 'approximate', 'precise'] as const;
export type RoutingSetupName = (typeof routingSetupNames)[number];

/** What a setup's EndpointPickerConfig may depend on: the stack's context and the pods' time scale. */
export interface RoutingSetupContext extends PathContext {
  /** The simulated pods run this many times faster than real time (below 1: slower). */
  readonly timeScale: number;
}

/**
 * A way of routing that `llmd bench --compare` can run on a fresh local cluster: the well-lit path
 * whose simulator settings the pods get (KV events on or off, block size), and the
 * EndpointPickerConfig the EPP runs.
 */
export interface RoutingSetup {
  readonly name: RoutingSetupName;
  readonly description: string;
  /** The path the pods are set up for; `approximate` and `precise` also run its EndpointPickerConfig. */
  readonly path: WellLitPath;
  /** The EndpointPickerConfig YAML, built from the running stack's context. */
  configText(context: RoutingSetupContext): string;
  /** Plugins beyond llm-d's built-in ones that the config names. */
  // biome-ignore lint/suspicious/noExplicitAny: plugin definitions of any parameter schema.
  readonly plugins: ReadonlyArray<PluginDefinition<any>>;
}

function requirePath(name: string): WellLitPath {
  const path = findWellLitPath(name);
  if (!path) throw new LlmdError('internal', `well-lit path ${name} is not defined`);
  return path;
}

const header = 'apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\n';

/** A profile with only a picker: every endpoint is a candidate and scores are all zero. */
function pickerOnlyConfig(pickerType: string): string {
  return `${header}plugins:
- type: ${pickerType}
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: ${pickerType}
`;
}

/** The scorers of the optimized baseline without its prefix-cache ones, weights as there. */
const loadConfig = `${header}plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
schedulingProfiles:
- name: default
  plugins:
  - { pluginRef: queue-scorer, weight: 2 }
  - { pluginRef: kv-cache-utilization-scorer, weight: 2 }
`;

/** llm-d's default `speculativeTTL`: how long a routing guess stands in for KV events not yet seen. */
const speculativeTtlMilliseconds = 2000;

/**
 * The precise path's config with its speculative TTL counted in the pods' time. The TTL must
 * outlast a prefill (the KV events of a prompt arrive when its prefill ends); pods slowed down
 * 4× take 4× longer in real time, so an unscaled 2 s would expire before a 0.73 s (model time)
 * prefill's events arrive and send the group's next requests elsewhere. At time scale 1 the
 * path's config is returned unchanged.
 */
export function withModelTimeSpeculativeTtl(config: string, timeScale: number): string {
  if (timeScale === 1) return config;
  const anchor = /^( *)speculativeIndexing: true\n/m;
  const match = anchor.exec(config);
  if (!match)
    throw new LlmdError('internal', 'the precise config has no speculativeIndexing line to scale the TTL of');
  const ttl = `${match[1]}speculativeTTL: ${Math.round(speculativeTtlMilliseconds / timeScale)}ms\n`;
  return config.replace(anchor, `${match[0]}${ttl}`);
}

/**
 * The setups in the order llm-d's "KV-cache wins" table lists them, cache-blind first. Built on
 * call (no work at import time); the paths come from {@link findWellLitPath}.
 */
export function routingSetups(): ReadonlyArray<RoutingSetup> {
  const baseline = requirePath('optimized-baseline');
  const precise = requirePath('precise-prefix-cache-routing');
  return [
    {
      name: 'random',
      description: 'uniform random choice (random-picker alone, no scorers)',
      path: baseline,
      configText: () => pickerOnlyConfig('random-picker'),
      plugins: [],
    },
    {
      name: 'round-robin',
      description:
        'pods in turn, like a Kubernetes Service (cli-local round-robin-picker, not an llm-d type)',
      path: baseline,
      configText: () => pickerOnlyConfig('round-robin-picker'),
      plugins: [roundRobinPickerPlugin],
    },
    {
      name: 'load',
      description: 'load-aware only: queue-scorer ×2 + kv-cache-utilization-scorer ×2',
      path: baseline,
      configText: () => loadConfig,
      plugins: [],
    },
    {
      name: 'approximate',
      description: 'optimized baseline: load + approximate prefix-cache scoring from routing history',
      path: baseline,
      configText: (context) => baseline.eppConfig(context),
      plugins: [],
    },
    {
      name: 'precise',
      description: "precise prefix-cache routing: prefix scoring from the pods' own KV events",
      path: precise,
      configText: (context) => withModelTimeSpeculativeTtl(precise.eppConfig(context), context.timeScale),
      plugins: [],
    },
  ];
}

/**
 * The setups named in `--compare a,b,c`, in the order given. Unknown or repeated names fail with
 * `invalid_argument` listing the valid ones.
 */
export function parseRoutingSetupList(list: string): RoutingSetup[] {
  const available = routingSetups();
  const names = list
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  if (names.length === 0) {
    throw new LlmdError(
      'invalid_argument',
      `--compare: name at least one setup (${routingSetupNames.join(', ')})`,
    );
  }
  const chosen: RoutingSetup[] = [];
  for (const name of names) {
    const setup = available.find((candidate) => candidate.name === name);
    if (!setup) {
      throw new LlmdError(
        'invalid_argument',
        `--compare: unknown routing setup "${name}" (available: ${routingSetupNames.join(', ')})`,
      );
    }
    if (chosen.includes(setup))
      throw new LlmdError('invalid_argument', `--compare: "${name}" is named twice`);
    chosen.push(setup);
  }
  return chosen;
}

/**
 * The setup as a well-lit path for `startLocalStack`: the path's simulator settings with the
 * setup's EndpointPickerConfig, which the stack builds once it knows its ports. `timeScale` is the
 * pods' (the simulator setting); defaults to 1.
 */
export function routingSetupPath(
  setup: RoutingSetup,
  options: { timeScale?: number | undefined } = {},
): WellLitPath {
  const timeScale = options.timeScale ?? 1;
  return {
    ...setup.path,
    summary: `${setup.name}: ${setup.description}`,
    eppConfig: (context) => setup.configText({ ...context, timeScale }),
  };
}
