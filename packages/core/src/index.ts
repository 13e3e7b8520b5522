export * from './errors/index.js';
export * from './hashing/index.js';
export { type LogFields, type LogLevel, type Logger, noopLogger } from './logging/logger.js';
export * from './vocabulary/index.js';
export { coreVersion } from './version.js';
