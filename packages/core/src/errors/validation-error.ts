import type { z } from 'zod';
import { LlmdError, type LlmdErrorCode } from './llmd-error.js';

/** A zod issue path as users write it: `messages[2].role`. */
export function formatIssuePath(path: ReadonlyArray<PropertyKey>): string {
  let formatted = '';
  for (const segment of path) {
    if (typeof segment === 'number') formatted += `[${segment}]`;
    else formatted += formatted === '' ? String(segment) : `.${String(segment)}`;
  }
  return formatted;
}

/** `path: message` for the first issue (just the message when the issue is about the whole input). */
export function describeFirstIssue(
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
): string {
  const issue = issues[0];
  if (!issue) return 'invalid value';
  const path = formatIssuePath(issue.path);
  return path === '' ? issue.message : `${path}: ${issue.message}`;
}

/**
 * A structured input failed its zod schema. The message names the field path of the first issue
 * (`messages[2].role: Invalid option …`) so users can find the mistake without reading a stack.
 */
export class ValidationError extends LlmdError {
  readonly issues: ReadonlyArray<z.core.$ZodIssue>;

  constructor(code: LlmdErrorCode, subject: string, issues: ReadonlyArray<z.core.$ZodIssue>) {
    const first = issues[0];
    const path = first ? formatIssuePath(first.path) : '';
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
