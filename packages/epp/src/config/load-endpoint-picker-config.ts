import { formatIssuePath, type Logger, noopLogger } from '@llmd/core';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import type { LoadedPlugin, PluginHandle } from '../plugin/define-plugin.js';
import type { EndpointState } from '../plugin/endpoint-state.js';
import {
  isDataConsumer,
  isDataProducer,
  isFilter,
  isPicker,
  isPreRequest,
  isProfileHandler,
  isRequestCompletePlugin,
  isResponseBodyPlugin,
  isResponseHeadersPlugin,
  isSaturationDetector,
  isScorer,
} from '../plugin/plugin-interfaces.js';
import type { AnyPluginDefinition, PluginRegistry } from '../plugin/plugin-registry.js';
import type { SchedulerPlugins } from '../scheduling/scheduler.js';
import type { ProfileFilter, SchedulerProfile, WeightedScorer } from '../scheduling/scheduler-profile.js';
import { defaultEndpointPickerConfig } from './default-endpoint-picker-config.js';
import {
  type EndpointPickerConfig,
  endpointPickerConfigSchema,
  featureGateDefaults,
} from './endpoint-picker-config-schema.js';

export interface LoadEndpointPickerConfigOptions {
  /** YAML (or JSON) text; when both `text` and `config` are absent, llm-d's defaults apply. */
  readonly text?: string;
  /** An already-parsed config object. */
  readonly config?: unknown;
  readonly registry: PluginRegistry;
  /** Refuse `Alpha` plugin types unless set (`--allow-experimental-plugins`). */
  readonly allowExperimentalPlugins?: boolean;
  readonly logger?: Logger;
  /** The pool as plugins see it through their handle (the datastore's snapshot). */
  readonly endpoints?: () => ReadonlyArray<EndpointState>;
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface LoadedEndpointPickerConfig {
  readonly config: EndpointPickerConfig;
  readonly featureGates: Readonly<Record<string, boolean>>;
  readonly plugins: SchedulerPlugins;
  /** Plugins by instance name (configured and injected). */
  readonly pluginsByName: ReadonlyMap<string, LoadedPlugin>;
}

const alwaysInjected = {
  picker: 'max-score-picker',
  singleProfileHandler: 'single-profile-handler',
  saturationDetector: 'utilization-detector',
} as const;

/**
 * Loads an EndpointPickerConfig in llm-d's two phases: (1) decode — YAML, strict schema, feature
 * gates; (2) instantiate — plugins with their own strict parameter schemas, default injection,
 * profile slotting, producer ordering. Errors name the phase and the field path.
 */
export async function loadEndpointPickerConfig(
  options: LoadEndpointPickerConfigOptions,
): Promise<LoadedEndpointPickerConfig> {
  const logger = options.logger ?? noopLogger;
  const config = decodeEndpointPickerConfig(options, logger);
  const featureGates = resolveFeatureGates(config);
  const instantiation = new PluginInstantiation(options, logger);
  const plugins = await instantiation.build(config, featureGates);
  return { config, featureGates, plugins, pluginsByName: instantiation.byName };
}

/** Phase 1: text → strictly validated config object. */
export function decodeEndpointPickerConfig(
  options: Pick<LoadEndpointPickerConfigOptions, 'text' | 'config'>,
  logger: Logger = noopLogger,
): EndpointPickerConfig {
  let raw: unknown = options.config;
  if (options.text !== undefined) {
    try {
      raw = parseYaml(options.text);
    } catch (error) {
      throw new InvalidConfigError(`decode phase: config is not valid YAML: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  if (raw === undefined || raw === null) raw = defaultEndpointPickerConfig;
  const parsed = endpointPickerConfigSchema.safeParse(raw);
  if (!parsed.success) throw issueError('decode phase', '', parsed.error.issues);
  if (parsed.data.apiVersion === 'inference.networking.x-k8s.io/v1alpha1') {
    logger.warn({ apiVersion: parsed.data.apiVersion }, 'deprecated apiVersion; use llm-d.ai/v1alpha1');
  }
  return parsed.data;
}

function resolveFeatureGates(config: EndpointPickerConfig): Record<string, boolean> {
  const gates: Record<string, boolean> = { ...featureGateDefaults };
  config.featureGates.forEach((entry, index) => {
    const [name, value] = entry.split('=', 2) as [string, string | undefined];
    if (!(name in featureGateDefaults)) {
      throw new InvalidConfigError(
        `decode phase: featureGates[${index}]: unknown feature gate "${name}" (known: ${Object.keys(featureGateDefaults).join(', ')})`,
        { path: `featureGates[${index}]` },
      );
    }
    if (value !== undefined && value !== 'true' && value !== 'false') {
      throw new InvalidConfigError(
        `decode phase: featureGates[${index}]: "${entry}" must be name, name=true or name=false`,
        {
          path: `featureGates[${index}]`,
        },
      );
    }
    gates[name] = value !== 'false';
  });
  return gates;
}

function issueError(
  phase: string,
  prefix: string,
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
): InvalidConfigError {
  const issue = issues[0];
  const inner = issue ? formatIssuePath(issue.path) : '';
  const path =
    prefix === ''
      ? inner
      : inner === ''
        ? prefix
        : inner.startsWith('[')
          ? `${prefix}${inner}`
          : `${prefix}.${inner}`;
  const message = issue?.message ?? 'invalid value';
  return new InvalidConfigError(`${phase}: ${path === '' ? message : `${path}: ${message}`}`, { path });
}

class PluginInstantiation {
  readonly byName = new Map<string, LoadedPlugin>();
  readonly #definitions = new Map<string, AnyPluginDefinition>();
  readonly #order: LoadedPlugin[] = [];

  constructor(
    private readonly options: LoadEndpointPickerConfigOptions,
    private readonly logger: Logger,
  ) {}

  async build(
    config: EndpointPickerConfig,
    featureGates: Readonly<Record<string, boolean>>,
  ): Promise<SchedulerPlugins> {
    config.plugins.forEach((spec, index) => {
      this.#instantiate(spec.type, spec.name ?? spec.type, spec.parameters, `plugins[${index}]`);
    });
    if (config.flowControl && !featureGates.flowControl) {
      this.logger.warn(
        {},
        'flowControl is configured but the flowControl feature gate is off; it is ignored',
      );
    }
    this.#checkReferences(config);

    const profiles = this.#buildProfiles(config);
    const profileHandler = this.#profileHandler(profiles);
    const saturationDetector = this.#saturationDetector(config);
    this.#injectDefaultProducers();
    const producers = this.#orderProducers();

    for (const plugin of this.#order) {
      const definition = this.#definitions.get(plugin.name) as AnyPluginDefinition;
      if (!definition.initialize) continue;
      try {
        await definition.initialize(plugin.behaviour, this.#handle(plugin.name));
      } catch (error) {
        if (error instanceof InvalidConfigError) throw error;
        throw new InvalidConfigError(
          `instantiate phase: plugin "${plugin.name}": ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
    }

    const collect = <Hook>(guard: (behaviour: LoadedPlugin['behaviour']) => boolean) =>
      this.#order
        .filter((plugin) => guard(plugin.behaviour))
        .map((plugin) => ({ plugin, hook: plugin.behaviour as unknown as Hook }));
    return {
      all: [...this.#order],
      profiles,
      profileHandler,
      producers,
      preRequest: collect(isPreRequest),
      responseHeaders: collect(isResponseHeadersPlugin),
      responseBody: collect(isResponseBodyPlugin),
      requestComplete: collect(isRequestCompletePlugin),
      saturationDetector,
    };
  }

  #instantiate(type: string, name: string, parameters: unknown, path: string): LoadedPlugin {
    const definition = this.options.registry.get(type);
    if (!definition) {
      throw new InvalidConfigError(
        `instantiate phase: ${path}.type: unknown plugin type "${type}" (not implemented by llmd or not registered)`,
        { path: `${path}.type` },
      );
    }
    if (this.byName.has(name)) {
      throw new InvalidConfigError(`instantiate phase: ${path}.name: plugin name "${name}" is used twice`, {
        path: `${path}.name`,
      });
    }
    if (definition.stability === 'Alpha' && !this.options.allowExperimentalPlugins) {
      throw new InvalidConfigError(
        `instantiate phase: ${path}.type: plugin type "${type}" is experimental (Alpha); enable it with --allow-experimental-plugins`,
        { path: `${path}.type` },
      );
    }
    if (definition.deprecated) {
      this.logger.warn(
        { type, replacement: definition.deprecated.replacement },
        `plugin type "${type}" is deprecated; use "${definition.deprecated.replacement}"`,
      );
    }
    let parsedParameters: unknown;
    if (definition.parameters) {
      const result = (definition.parameters as z.ZodType).safeParse(parameters ?? {});
      if (!result.success) throw issueError('instantiate phase', `${path}.parameters`, result.error.issues);
      parsedParameters = result.data;
    } else if (
      parameters !== undefined &&
      parameters !== null &&
      Object.keys(parameters as object).length > 0
    ) {
      throw new InvalidConfigError(
        `instantiate phase: ${path}.parameters: plugin type "${type}" takes no parameters`,
        {
          path: `${path}.parameters`,
        },
      );
    }
    let behaviour: LoadedPlugin['behaviour'];
    try {
      behaviour = definition.create(parsedParameters, this.#handle(name));
    } catch (error) {
      if (error instanceof InvalidConfigError) throw error;
      throw new InvalidConfigError(
        `instantiate phase: ${path}: plugin "${name}" failed to start: ${(error as Error).message}`,
        {
          path,
          cause: error,
        },
      );
    }
    const loaded: LoadedPlugin = Object.freeze({ type, name, behaviour });
    this.byName.set(name, loaded);
    this.#definitions.set(name, definition);
    this.#order.push(loaded);
    return loaded;
  }

  #handle(name: string): PluginHandle {
    const endpoints = this.options.endpoints ?? (() => []);
    return {
      name,
      logger: this.logger.child({ plugin: name }),
      now: this.options.now ?? Date.now,
      random: this.options.random ?? Math.random,
      plugin: (other) => {
        const found = this.byName.get(other);
        if (!found) throw new InvalidConfigError(`plugin "${name}" refers to unknown plugin "${other}"`);
        return found;
      },
      endpoints,
      endpoint: (key) => endpoints().find((state) => state.endpoint.key === key),
    };
  }

  #checkReferences(config: EndpointPickerConfig): void {
    const check = (name: string | undefined, path: string) => {
      if (name !== undefined && !this.byName.has(name)) {
        throw new InvalidConfigError(
          `instantiate phase: ${path}: unknown plugin "${name}" (not in plugins)`,
          { path },
        );
      }
    };
    config.dataLayer?.sources.forEach((source, index) => {
      check(source.pluginRef, `dataLayer.sources[${index}].pluginRef`);
      source.extractors.forEach((extractor, extractorIndex) => {
        check(extractor.pluginRef, `dataLayer.sources[${index}].extractors[${extractorIndex}].pluginRef`);
      });
    });
    check(config.dataLayer?.discovery?.pluginRef, 'dataLayer.discovery.pluginRef');
    check(config.dataLayer?.peerDiscovery?.pluginRef, 'dataLayer.peerDiscovery.pluginRef');
    check(config.flowControl?.usageLimitPolicyPluginRef, 'flowControl.usageLimitPolicyPluginRef');
    check(config.flowControl?.saturationDetector?.pluginRef, 'flowControl.saturationDetector.pluginRef');
    config.flowControl?.priorityBands.forEach((band, index) => {
      check(band.fairnessPolicyRef, `flowControl.priorityBands[${index}].fairnessPolicyRef`);
      check(band.orderingPolicyRef, `flowControl.priorityBands[${index}].orderingPolicyRef`);
    });
    config.requestHandler?.parsers.forEach((parser, index) => {
      check(parser.pluginRef, `requestHandler.parsers[${index}].pluginRef`);
    });
  }

  #injected(type: string): LoadedPlugin {
    for (const plugin of this.#order) if (plugin.type === type) return plugin;
    return this.#instantiate(
      type,
      this.byName.has(type) ? `${type}-default` : type,
      undefined,
      `(injected ${type})`,
    );
  }

  #buildProfiles(config: EndpointPickerConfig): Map<string, SchedulerProfile> {
    const profiles = new Map<string, SchedulerProfile>();
    let specs = config.schedulingProfiles;
    if (specs.length === 0) {
      // No profiles: one `default` profile with every filter, scorer and picker configured.
      specs = [
        {
          name: 'default',
          plugins: this.#order
            .filter(({ behaviour }) => isFilter(behaviour) || isScorer(behaviour) || isPicker(behaviour))
            .map((plugin) => ({ pluginRef: plugin.name })),
        },
      ];
    }
    specs.forEach((spec, profileIndex) => {
      const path = `schedulingProfiles[${profileIndex}]`;
      if (profiles.has(spec.name)) {
        throw new InvalidConfigError(
          `instantiate phase: ${path}.name: profile "${spec.name}" is defined twice`,
          {
            path: `${path}.name`,
          },
        );
      }
      const filters: ProfileFilter[] = [];
      const scorers: WeightedScorer[] = [];
      let picker: SchedulerProfile['picker'] | undefined;
      spec.plugins.forEach((entry, entryIndex) => {
        const entryPath = `${path}.plugins[${entryIndex}].pluginRef`;
        const plugin = this.byName.get(entry.pluginRef);
        if (!plugin) {
          throw new InvalidConfigError(
            `instantiate phase: ${entryPath}: unknown plugin "${entry.pluginRef}" (not in plugins)`,
            { path: entryPath },
          );
        }
        const { behaviour } = plugin;
        let slotted = false;
        if (isFilter(behaviour)) {
          filters.push({ plugin, filter: behaviour });
          slotted = true;
        }
        if (isScorer(behaviour)) {
          scorers.push({ plugin, scorer: behaviour, weight: entry.weight ?? 1 });
          slotted = true;
        }
        if (isPicker(behaviour)) {
          if (picker) {
            throw new InvalidConfigError(
              `instantiate phase: ${entryPath}: profile "${spec.name}" has a second picker "${plugin.name}" (at most one)`,
              { path: entryPath },
            );
          }
          picker = { plugin, picker: behaviour };
          slotted = true;
        }
        if (!slotted) {
          throw new InvalidConfigError(
            `instantiate phase: ${entryPath}: plugin "${plugin.name}" (${plugin.type}) is not a filter, scorer or picker`,
            { path: entryPath },
          );
        }
      });
      if (!picker) {
        const injected = this.#injected(alwaysInjected.picker);
        picker = { plugin: injected, picker: injected.behaviour as never };
      }
      profiles.set(spec.name, { name: spec.name, filters, scorers, picker });
    });
    return profiles;
  }

  #profileHandler(profiles: ReadonlyMap<string, SchedulerProfile>): SchedulerPlugins['profileHandler'] {
    const handlers = this.#order.filter(({ behaviour }) => isProfileHandler(behaviour));
    if (handlers.length > 1) {
      throw new InvalidConfigError(
        `instantiate phase: plugins: more than one profile handler (${handlers.map((plugin) => plugin.name).join(', ')})`,
        { path: 'plugins' },
      );
    }
    let handler = handlers[0];
    if (!handler) {
      if (profiles.size > 1) {
        throw new InvalidConfigError(
          `instantiate phase: schedulingProfiles: ${profiles.size} profiles need a profile handler plugin (for example disagg-profile-handler)`,
          { path: 'schedulingProfiles' },
        );
      }
      handler = this.#injected(alwaysInjected.singleProfileHandler);
    }
    return { plugin: handler, handler: handler.behaviour as never };
  }

  #saturationDetector(config: EndpointPickerConfig): SchedulerPlugins['saturationDetector'] {
    const reference = config.flowControl?.saturationDetector?.pluginRef;
    let plugin = reference
      ? this.byName.get(reference)
      : this.#order.find(({ behaviour }) => isSaturationDetector(behaviour));
    if (plugin && !isSaturationDetector(plugin.behaviour)) {
      throw new InvalidConfigError(
        `instantiate phase: flowControl.saturationDetector.pluginRef: plugin "${plugin.name}" is not a saturation detector`,
        { path: 'flowControl.saturationDetector.pluginRef' },
      );
    }
    plugin ??= this.#injected(alwaysInjected.saturationDetector);
    return { plugin, detector: plugin.behaviour as never };
  }

  #produced(): Map<string, LoadedPlugin> {
    const produced = new Map<string, LoadedPlugin>();
    for (const plugin of this.#order) {
      if (!isDataProducer(plugin.behaviour)) continue;
      for (const key of plugin.behaviour.produces ?? []) if (!produced.has(key)) produced.set(key, plugin);
    }
    return produced;
  }

  #injectDefaultProducers(): void {
    // Loop until stable: an injected producer may itself require another producer.
    for (let changed = true; changed; ) {
      changed = false;
      const produced = this.#produced();
      for (const plugin of [...this.#order]) {
        if (!isDataConsumer(plugin.behaviour)) continue;
        for (const key of plugin.behaviour.consumes.required) {
          if (produced.has(key)) continue;
          const definition = this.options.registry.defaultProducerFor(key);
          if (!definition) {
            throw new InvalidConfigError(
              `instantiate phase: plugin "${plugin.name}" (${plugin.type}) requires data "${key}" but no configured plugin produces it`,
            );
          }
          const injected = this.#injected(definition.type);
          if (!(injected.behaviour.produces ?? []).includes(key)) {
            throw new InvalidConfigError(
              `instantiate phase: plugin "${plugin.name}" requires data "${key}"; the default producer "${injected.name}" is configured differently and does not produce it`,
            );
          }
          changed = true;
          break;
        }
        if (changed) break;
      }
    }
  }

  #orderProducers(): SchedulerPlugins['producers'] {
    const producers = this.#order.filter((plugin) => isDataProducer(plugin.behaviour));
    const producerOf = this.#produced();
    const ordered: LoadedPlugin[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (plugin: LoadedPlugin, chain: string[]) => {
      const current = state.get(plugin.name);
      if (current === 'done') return;
      if (current === 'visiting') {
        throw new InvalidConfigError(
          `instantiate phase: data dependency cycle between producers: ${[...chain, plugin.name].join(' → ')}`,
        );
      }
      state.set(plugin.name, 'visiting');
      if (isDataConsumer(plugin.behaviour)) {
        const { required, optional = [] } = plugin.behaviour.consumes;
        for (const key of [...required, ...optional]) {
          const producer = producerOf.get(key);
          if (producer && producer !== plugin) visit(producer, [...chain, plugin.name]);
        }
      }
      state.set(plugin.name, 'done');
      ordered.push(plugin);
    };
    for (const plugin of producers) visit(plugin, []);
    return ordered.map((plugin) => ({ plugin, producer: plugin.behaviour as never }));
  }
}
