export * from './errors/index.js';
export * from './hashing/index.js';
export { type LogFields, type Logger, type LogLevel, noopLogger } from './logging/logger.js';
export * from './tokenization/index.js';
export { coreVersion } from './version.js';
export * from './vocabulary/index.js';
