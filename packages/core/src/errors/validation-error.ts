import type { z } from 'zod';
import { LlmdError, type LlmdErrorCode } from './llmd-error.js';

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let formatted = '';
  for (const segment of path) {
    if (typeof segment === 'number') formatted += `[${segment}]`;
    else formatted += formatted === '' ? String(segment) : `.${String(segment)}`;
  }
  return formatted;
}

/**
 * A structured input failed its zod schema. The message names the field path of the first issue
 * (`messages[2].role: Invalid option …`) so users can find the mistake without reading a stack.
 */
export class ValidationError extends LlmdError {
  readonly issues: ReadonlyArray<z.core.$ZodIssue>;

  constructor(code: LlmdErrorCode, subject: string, issues: ReadonlyArray<z.core.$ZodIssue>) {
    const first = issues[0];
    const path = first ? formatPath(first.path) : '';
    const where = path === '' ? subject : `${subject} ${path}`;
    const more =
      issues.length > 1 ? ` (and ${issues.length - 1} more issue${issues.length > 2 ? 's' : ''})` : '';
    super(code, `${where}: ${first?.message ?? 'invalid value'}${more}`, { path });
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

/** Parse `value` with `schema`, throwing a {@link ValidationError} that names the failing field. */
export function parseWithSchema<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  code: LlmdErrorCode,
  subject: string,
): z.output<Schema> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(code, subject, result.error.issues);
  return result.data;
}
