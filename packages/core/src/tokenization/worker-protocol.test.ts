import { describe, expect, it } from 'vitest';
import { LlmdError } from '../errors/llmd-error.js';
import { ValidationError } from '../errors/validation-error.js';
import { deserializeError, serializeError } from './worker-protocol.js';

describe('worker error serialization', () => {
  it('keeps code, message and path of llmd errors', () => {
    const original = new ValidationError('invalid_request', 'chat request', [
      { code: 'custom', message: 'bad role', path: ['messages', 1, 'role'], input: 'x' },
    ]);
    const copy = deserializeError(structuredClone(serializeError(original)));
    expect(LlmdError.isInstance(copy)).toBe(true);
    expect(copy).toMatchObject({
      code: 'invalid_request',
      path: 'messages[1].role',
      message: original.message,
    });
  });

  it('turns foreign errors into internal ones', () => {
    expect(deserializeError(serializeError(new TypeError('boom')))).toMatchObject({
      code: 'internal',
      message: 'boom',
    });
    expect(serializeError('plain')).toEqual({ code: 'internal', message: 'plain', path: undefined });
  });
});
