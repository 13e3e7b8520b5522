import { z } from 'zod';

const unitMilliseconds: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parse a duration as llm-d-inference-sim accepts it: a Go duration string (`"150ms"`, `"1.5s"`,
 * `"1m30s"`) or a bare number of milliseconds (older simulator versions took integers in ms).
 */
export function parseDurationMilliseconds(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const pattern = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    total += Number(match[1]) * (unitMilliseconds[match[2] as string] as number);
    consumed = pattern.lastIndex;
  }
  return consumed === text.length && consumed > 0 ? total : undefined;
}

/** A zod field for durations; the parsed value is milliseconds. */
export const durationSchema = z.union([z.string(), z.number()]).transform((value, context) => {
  const milliseconds = parseDurationMilliseconds(value);
  if (milliseconds === undefined) {
    context.addIssue({
      code: 'custom',
      message: `"${value}" is not a duration (examples: 150ms, 1.5s, or milliseconds as a number)`,
    });
    return z.NEVER;
  }
  return milliseconds;
});
