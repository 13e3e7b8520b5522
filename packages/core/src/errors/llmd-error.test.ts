import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { InvalidArgumentError } from './invalid-argument-error.js';
import { LlmdError, type LlmdErrorCode } from './llmd-error.js';
import { parseWithSchema, ValidationError } from './validation-error.js';

describe('LlmdError', () => {
  it('is recognised by marker, not only by prototype', () => {
    const error = new InvalidArgumentError('bad', { path: 'blockSize' });
    expect(LlmdError.isInstance(error)).toBe(true);
    expect(error.code).toBe('invalid_argument');
    expect(error.path).toBe('blockSize');
    // A structurally foreign error (another copy of the package) carries the same global symbol.
    const foreign = Object.assign(new Error('x'), { [Symbol.for('llmd.error')]: true, code: 'internal' });
    expect(LlmdError.isInstance(foreign)).toBe(true);
    expect(LlmdError.isInstance(new Error('plain'))).toBe(false);
    expect(LlmdError.isInstance(undefined)).toBe(false);
  });

  it('has no code that nothing throws', () => {
    // Type-level (checked by tsc): unknown algorithms fail option validation with invalid_argument.
    expectTypeOf<'unknown_hash_algorithm'>().not.toExtend<LlmdErrorCode>();
    expectTypeOf<'invalid_argument'>().toExtend<LlmdErrorCode>();
  });

  it('validation errors name the first failing field path', () => {
    const schema = z.object({ plugins: z.array(z.object({ type: z.string() })) });
    try {
      parseWithSchema(schema, { plugins: [{ type: 'a' }, { type: 3 }] }, 'invalid_config', 'config');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).message).toMatch(/^config plugins\[1\]\.type: /);
      expect((error as ValidationError).path).toBe('plugins[1].type');
      expect((error as ValidationError).code).toBe('invalid_config');
    }
  });
});
