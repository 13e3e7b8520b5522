import { LlmdError } from '@llmd/core';

/**
 * The EndpointPickerConfig (or a plugin's parameters) is invalid. `path` names the offending field
 * as users write it (`plugins[2].parameters.threshold`); the message starts with the loader phase.
 */
export class InvalidConfigError extends LlmdError {
  constructor(message: string, options: { path?: string; cause?: unknown } = {}) {
    super('invalid_config', message, options);
    this.name = 'InvalidConfigError';
  }
}
