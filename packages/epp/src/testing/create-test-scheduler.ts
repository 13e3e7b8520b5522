import type { Logger } from '@llmd/core';
import { loadEndpointPickerConfig } from '../config/load-endpoint-picker-config.js';
import type { PluginDefinition } from '../plugin/define-plugin.js';
import type { EndpointState } from '../plugin/endpoint-state.js';
import { createPluginRegistry } from '../plugin/plugin-registry.js';
import { builtinPlugins } from '../plugins/builtin-plugins.js';
import { Scheduler } from '../scheduling/scheduler.js';

export interface TestSchedulerOptions {
  /** EndpointPickerConfig as YAML text or object; llm-d's defaults when omitted. */
  readonly config?: string | object;
  /** Third-party plugin types to register next to the built-ins. */
  // biome-ignore lint/suspicious/noExplicitAny: any parameter schema.
  readonly plugins?: ReadonlyArray<PluginDefinition<any>>;
  readonly endpoints?: () => ReadonlyArray<EndpointState>;
  readonly random?: () => number;
  readonly now?: () => number;
  readonly logger?: Logger;
  readonly allowExperimentalPlugins?: boolean;
}

/** A scheduler built from a config and the built-in plugins, for tests and examples. */
export async function createTestScheduler(options: TestSchedulerOptions = {}): Promise<Scheduler> {
  const registry = createPluginRegistry([...builtinPlugins, ...(options.plugins ?? [])]);
  const loaded = await loadEndpointPickerConfig({
    ...(typeof options.config === 'string' ? { text: options.config } : { config: options.config }),
    registry,
    ...(options.endpoints ? { endpoints: options.endpoints } : {}),
    ...(options.random ? { random: options.random } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    allowExperimentalPlugins: options.allowExperimentalPlugins ?? false,
  });
  return new Scheduler(loaded.plugins, options.logger ? { logger: options.logger } : {});
}
