import { Option } from 'commander';
import type { z } from 'zod';

type Definition = { type: string; innerType?: z.ZodType; in?: z.ZodType; options?: z.ZodType[] };

/** The schema under defaults, optionals and transforms: what the user actually types. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const definition = (current as unknown as { def: Definition }).def;
    if (
      (definition.type === 'default' || definition.type === 'optional' || definition.type === 'nullable') &&
      definition.innerType
    ) {
      current = definition.innerType;
    } else if (definition.type === 'pipe' && definition.in) {
      current = definition.in;
    } else {
      return current;
    }
  }
}

function kind(schema: z.ZodType): 'boolean' | 'optional-value-boolean' | 'list' | 'value' {
  const inner = unwrap(schema);
  const definition = (inner as unknown as { def: Definition }).def;
  if (definition.type === 'boolean') return 'boolean';
  // A boolean that also takes `=true`/`=false` (Go-style `--secure-serving=false`).
  if (definition.type === 'union' && definition.options?.some((option) => kind(option) === 'boolean'))
    return 'optional-value-boolean';
  if (definition.type === 'array') return 'list';
  if (definition.type === 'union' && definition.options?.some((option) => kind(option) === 'list'))
    return 'list';
  return 'value';
}

function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/**
 * Commander options for every field of a zod object schema: the flag is the kebab-case key,
 * the help text the field's description. Values stay strings; the schema coerces and validates,
 * so flags, config files and library options share one definition and one set of defaults.
 */
export function optionsFromSchema(schema: z.ZodObject, exclude: ReadonlyArray<string> = []): Option[] {
  return Object.entries(schema.shape as Record<string, z.ZodType>)
    .filter(([key]) => !exclude.includes(key))
    .map(([key, field]) => {
      const description = field.description ?? '';
      switch (kind(field)) {
        case 'boolean':
          return new Option(`--${flagName(key)}`, description);
        case 'optional-value-boolean':
          return new Option(`--${flagName(key)} [true|false]`, description);
        case 'list':
          return new Option(`--${flagName(key)} <values...>`, description);
        default:
          return new Option(`--${flagName(key)} <value>`, description);
      }
    });
}
