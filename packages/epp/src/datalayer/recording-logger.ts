/**
 * TEST HELPER, not part of the package's public API: a `Logger` that keeps what was logged so tests
 * can assert on warnings.
 */
import type { LogFields, Logger, LogLevel } from '@llmd/core';

export interface LogRecord {
  readonly level: LogLevel;
  readonly message: string;
  readonly fields: LogFields;
}

export interface RecordingLogger extends Logger {
  readonly records: LogRecord[];
  messages(level?: LogLevel): string[];
}

export function createRecordingLogger(): RecordingLogger {
  const records: LogRecord[] = [];
  const make = (bindings: LogFields): RecordingLogger => {
    const log =
      (level: LogLevel) =>
      (fields: LogFields, message = ''): void => {
        records.push({ level, message, fields: { ...bindings, ...fields } });
      };
    return {
      records,
      trace: log('trace'),
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (more) => make({ ...bindings, ...more }),
      isLevelEnabled: () => true,
      messages: (level) =>
        records.filter((record) => !level || record.level === level).map((record) => record.message),
    };
  };
  return make({});
}
