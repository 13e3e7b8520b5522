import type { Logger } from '@llmd/core';
import type { LoadedPlugin } from '../plugin/define-plugin.js';

/** llm-d's `extension_point` label values for `llm_d_epp_plugin_duration_seconds`. */
export type ExtensionPoint =
  | 'ProfileHandler'
  | 'Filter'
  | 'Scorer'
  | 'Picker'
  | 'DataProducer'
  | 'PreRequest'
  | 'ResponseHeader'
  | 'ResponseBody'
  | 'RequestComplete';

/** Receives per-plugin timings and contained failures; the servers turn them into metrics. */
export interface PluginMetricsSink {
  pluginDuration(extensionPoint: ExtensionPoint, plugin: LoadedPlugin, seconds: number): void;
  pluginError(extensionPoint: ExtensionPoint, plugin: LoadedPlugin): void;
}

/** Times plugin calls and contains their failures (logged and counted, never thrown). */
export class PluginRunObserver {
  constructor(
    private readonly logger: Logger,
    private readonly sink: PluginMetricsSink | undefined,
  ) {}

  start(): number {
    return this.sink ? performance.now() : 0;
  }

  finish(extensionPoint: ExtensionPoint, plugin: LoadedPlugin, started: number): void {
    if (this.sink) this.sink.pluginDuration(extensionPoint, plugin, (performance.now() - started) / 1000);
  }

  fail(extensionPoint: ExtensionPoint, plugin: LoadedPlugin, started: number, error: unknown): void {
    this.finish(extensionPoint, plugin, started);
    this.sink?.pluginError(extensionPoint, plugin);
    this.logger.error(
      {
        plugin: `${plugin.name}/${plugin.type}`,
        extensionPoint,
        error: error instanceof Error ? error.message : String(error),
      },
      'plugin failed; continuing without it',
    );
  }
}
