import { InvalidConfigError } from '../../../errors/invalid-config-error.js';
import { inFlightLoadDataKey } from '../../../plugin/data-keys.js';
import type { PluginHandle } from '../../../plugin/define-plugin.js';

/**
 * Validates a scorer's `inFlightLoadProducerName`: it must name a configured plugin that produces
 * in-flight load. llm-d keys the data by producer name; llmd has one `inflight-load` key, so the
 * name is checked for consistency but every in-flight scorer reads the same data.
 */
export function checkInFlightLoadProducer(handle: PluginHandle, producerName: string | undefined): void {
  if (producerName === undefined) return;
  let produces: ReadonlyArray<string> | undefined;
  try {
    produces = handle.plugin(producerName).behaviour.produces;
  } catch {
    throw new InvalidConfigError(
      `instantiate phase: plugin "${handle.name}": inFlightLoadProducerName "${producerName}" is not a configured plugin`,
    );
  }
  if (!produces?.includes(inFlightLoadDataKey)) {
    throw new InvalidConfigError(
      `instantiate phase: plugin "${handle.name}": inFlightLoadProducerName "${producerName}" does not produce ${inFlightLoadDataKey} data`,
    );
  }
}
