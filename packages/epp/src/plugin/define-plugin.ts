import type { Endpoint, Logger } from '@llmd/core';
import type { z } from 'zod';
import type { EndpointState } from './endpoint-state.js';
import type { PluginBehaviour } from './plugin-interfaces.js';

/** llm-d's stability levels; `Alpha` types are refused unless experimental plugins are allowed. */
export type PluginStability = 'Alpha' | 'Beta' | 'Stable';

/** What a plugin factory gets from the framework besides its parameters. */
export interface PluginHandle {
  /** The instance name (`name` in the config, defaulting to the type). */
  readonly name: string;
  readonly logger: Logger;
  /** The scheduler's clock in milliseconds (injectable for tests). */
  now(): number;
  /** Uniform random number in [0, 1) (injectable for deterministic tests). */
  random(): number;
  /**
   * Another configured plugin by instance name. Available once every plugin has been created: call it
   * from `initialize` or from request-time methods, not from `create`.
   */
  plugin(name: string): LoadedPlugin;
  /** The endpoints currently in the pool with their latest metrics. */
  endpoints(): ReadonlyArray<EndpointState>;
  /** Looks up one endpoint by `ip:port`. */
  endpoint(key: string): EndpointState | undefined;
}

export interface PluginDefinition<Schema extends z.ZodType = z.ZodType> {
  /** llm-d's kebab-case type name, e.g. `queue-scorer`. */
  readonly type: string;
  readonly stability?: PluginStability;
  /** Set for deprecated aliases: loading logs a warning naming the replacement. */
  readonly deprecated?: { readonly replacement: string; readonly since?: string };
  /**
   * Parameter schema. Use `.strict()` objects so unknown fields are errors naming their path, and
   * `.default()` for llm-d's defaults. Omit for plugins without parameters (any parameter is then an error).
   */
  readonly parameters?: Schema;
  /**
   * Data keys this type can provide when nobody configured a producer for them: a consumer that
   * requires one of these keys gets an instance of this type created with default parameters.
   */
  readonly defaultProducerFor?: ReadonlyArray<string>;
  create(parameters: z.output<Schema>, handle: PluginHandle): PluginBehaviour;
  /** Runs after every plugin was created, in config order (resolve references to other plugins here). */
  initialize?(plugin: PluginBehaviour, handle: PluginHandle): void | Promise<void>;
}

/** A created plugin: the behaviour plus the names it was loaded under. */
export interface LoadedPlugin {
  readonly type: string;
  readonly name: string;
  readonly behaviour: PluginBehaviour;
}

/**
 * Declares a plugin type. Identity function for type inference: `create` receives the parsed
 * parameters with defaults filled in.
 */
export function definePlugin<Schema extends z.ZodType>(
  definition: PluginDefinition<Schema>,
): PluginDefinition<Schema> {
  return definition;
}

/** Whether `endpoint` matches a Kubernetes-style equality selector. */
export function endpointHasLabels(endpoint: Endpoint, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(labels)) if (endpoint.labels[key] !== value) return false;
  return true;
}
