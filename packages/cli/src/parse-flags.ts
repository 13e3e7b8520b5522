import { LlmdError, type LlmdErrorCode } from '@llmd/core';
import type { z } from 'zod';

function flagName(property: PropertyKey | undefined): string {
  if (property === undefined) return 'options';
  return `--${String(property).replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
}

/** Validate commander's option object with zod; the error names the flag as the user typed it. */
export function parseFlags<Schema extends z.ZodType>(
  schema: Schema,
  options: unknown,
  code: LlmdErrorCode = 'invalid_argument',
): z.output<Schema> {
  const result = schema.safeParse(options);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const flag = flagName(issue?.path[0]);
  throw new LlmdError(code, `${flag}: ${issue?.message ?? 'invalid value'}`, { path: flag });
}
