/** A one-line description of a thrown value for log fields and wrapped error messages. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
