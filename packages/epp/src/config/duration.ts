import { z } from 'zod';

const unitMilliseconds: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration (`60s`, `1m30s`, `200ms`) as llm-d's YAML uses them; a bare number is
 * milliseconds. Returns undefined when the text is not a duration.
 */
export function parseGoDurationMilliseconds(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  if (trimmed === '0') return 0;
  const pattern = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = pattern.exec(trimmed); match !== null; match = pattern.exec(trimmed)) {
    total += Number(match[1]) * (unitMilliseconds[match[2] as string] as number);
    consumed = pattern.lastIndex;
  }
  return consumed === trimmed.length && consumed > 0 ? total : undefined;
}

/** A zod schema accepting a Go duration string or a number of milliseconds; outputs milliseconds. */
export const durationMillisecondsSchema = z
  .union([z.number().min(0), z.string()])
  .transform((value, context) => {
    if (typeof value === 'number') return value;
    const parsed = parseGoDurationMilliseconds(value);
    if (parsed === undefined) {
      context.addIssue({
        code: 'custom',
        message: `"${value}" is not a duration (examples: 200ms, 60s, 1m30s)`,
      });
      return z.NEVER;
    }
    return parsed;
  });

const quantityMultipliers: Readonly<Record<string, number>> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** A byte count as a number or a Kubernetes quantity (`1Gi`, `500M`). */
export const byteQuantitySchema = z
  .union([z.number().int().min(0), z.string()])
  .transform((value, context) => {
    if (typeof value === 'number') return value;
    const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T|)$/.exec(value.trim());
    if (!match) {
      context.addIssue({
        code: 'custom',
        message: `"${value}" is not a byte quantity (examples: 1073741824, 1Gi, 500M)`,
      });
      return z.NEVER;
    }
    return Math.round(Number(match[1]) * (quantityMultipliers[match[2] as string] as number));
  });
