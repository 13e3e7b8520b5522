import { LlmdError, type LlmdErrorOptions } from './llmd-error.js';

/** A caller passed a value outside the accepted domain (a block size of 0, a negative token id, …). */
export class InvalidArgumentError extends LlmdError {
  constructor(message: string, options: LlmdErrorOptions = {}) {
    super('invalid_argument', message, options);
    this.name = 'InvalidArgumentError';
  }
}
