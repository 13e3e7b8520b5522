export { InvalidArgumentError } from './invalid-argument-error.js';
export { LlmdError, type LlmdErrorCode, type LlmdErrorOptions } from './llmd-error.js';
export { describeFirstIssue, formatIssuePath, parseWithSchema, ValidationError } from './validation-error.js';
