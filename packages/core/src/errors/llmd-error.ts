/**
 * Stable machine-readable error codes. Servers map them to HTTP status codes and drop reasons;
 * the CLI maps any of them to exit code 2. Codes are part of the public contract: add, never rename.
 */
export type LlmdErrorCode =
  | 'invalid_argument'
  | 'invalid_config'
  | 'invalid_request'
  | 'invalid_token_ids'
  | 'tokenizer_load_failed'
  | 'tokenizer_not_found'
  | 'chat_template_failed'
  | 'render_failed'
  | 'internal';

const markerSymbol = Symbol.for('llmd.error');

export interface LlmdErrorOptions {
  cause?: unknown;
  /** Dotted path of the offending field, when the error is about one field of a structured input. */
  path?: string;
}

/**
 * Base class of every error llmd throws on purpose. A `Symbol.for` marker backs `isInstance`
 * because `instanceof` fails when two copies of this package are installed side by side.
 */
export class LlmdError extends Error {
  readonly code: LlmdErrorCode;
  readonly path: string | undefined;
  /** Brand checked by `isInstance`; a global symbol so copies of this package recognise each other. */
  readonly [markerSymbol] = true;

  constructor(code: LlmdErrorCode, message: string, options: LlmdErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LlmdError';
    this.code = code;
    this.path = options.path;
  }

  static isInstance(error: unknown): error is LlmdError {
    return typeof error === 'object' && error !== null && markerSymbol in error;
  }
}
