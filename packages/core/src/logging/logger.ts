/** Structured log fields; values should be cheap to produce (guard expensive ones with `isLevelEnabled`). */
export type LogFields = Record<string, unknown>;

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/**
 * The logger every llmd library accepts. It is a subset of pino's API, so executables pass a pino
 * logger directly; libraries default to {@link noopLogger} and never create loggers themselves.
 */
export interface Logger {
  trace(fields: LogFields, message?: string): void;
  debug(fields: LogFields, message?: string): void;
  info(fields: LogFields, message?: string): void;
  warn(fields: LogFields, message?: string): void;
  error(fields: LogFields, message?: string): void;
  child(bindings: LogFields): Logger;
  isLevelEnabled?(level: LogLevel): boolean;
}

const noop = (): void => {};

export const noopLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => noopLogger,
  isLevelEnabled: () => false,
};
