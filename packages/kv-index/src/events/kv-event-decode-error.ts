import { LlmdError, type LlmdErrorOptions } from '@llmd/core';

/**
 * A KV-event payload that is not a batch this decoder can read: not msgpack, the wrong shape, or
 * lengths no engine would send. Thrown instead of a generic error so that a subscriber can count
 * the payload as malformed and carry on; the message names the offending field path.
 */
export class KvEventDecodeError extends LlmdError {
  constructor(message: string, options: LlmdErrorOptions = {}) {
    super('invalid_argument', message, options);
    this.name = 'KvEventDecodeError';
  }
}
