import type { z } from 'zod';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import type { PluginDefinition } from './define-plugin.js';

// biome-ignore lint/suspicious/noExplicitAny: definitions of any parameter schema live side by side.
type AnyPluginDefinition = PluginDefinition<any>;

/** An immutable set of plugin types a loader can instantiate. */
export interface PluginRegistry {
  get(type: string): AnyPluginDefinition | undefined;
  has(type: string): boolean;
  types(): ReadonlyArray<string>;
  /** The registered type that offers itself as default producer of `dataKey`, if any. */
  defaultProducerFor(dataKey: string): AnyPluginDefinition | undefined;
  /** A new registry with more types; a type already present is an error. */
  with(definitions: ReadonlyArray<AnyPluginDefinition>): PluginRegistry;
}

/**
 * Builds a registry from plugin definitions. There is no global registry: the built-ins are
 * passed in like any third-party plugin, and two schedulers in one process can differ.
 */
export function createPluginRegistry(definitions: ReadonlyArray<AnyPluginDefinition>): PluginRegistry {
  const byType = new Map<string, AnyPluginDefinition>();
  const defaultProducers = new Map<string, AnyPluginDefinition>();
  for (const definition of definitions) {
    // The same definition passed twice (built-ins plus an explicit list) is harmless; two different
    // definitions claiming one type name are a mistake.
    if (byType.get(definition.type) === definition) continue;
    if (byType.has(definition.type)) {
      throw new InvalidConfigError(`plugin type "${definition.type}" is registered twice`);
    }
    byType.set(definition.type, definition);
    for (const dataKey of definition.defaultProducerFor ?? []) {
      if (!defaultProducers.has(dataKey)) defaultProducers.set(dataKey, definition);
    }
  }
  const registry: PluginRegistry = {
    get: (type) => byType.get(type),
    has: (type) => byType.has(type),
    types: () => [...byType.keys()],
    defaultProducerFor: (dataKey) => defaultProducers.get(dataKey),
    with: (more) => createPluginRegistry([...byType.values(), ...more]),
  };
  return Object.freeze(registry);
}

export type { AnyPluginDefinition };
export type ParametersOf<Definition> =
  Definition extends PluginDefinition<infer Schema> ? z.output<Schema> : never;
