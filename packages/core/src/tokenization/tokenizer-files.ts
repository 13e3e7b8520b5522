import { z } from 'zod';

// Only the parts llmd reads are modelled; everything else passes through untouched (and unvalidated,
// so the 150k-entry vocabulary and merge lists are not walked by zod).

const componentSchema = z.looseObject({ type: z.string() });

const addedTokenSchema = z.looseObject({
  id: z.number().int().nonnegative(),
  content: z.string(),
  special: z.boolean().optional(),
  lstrip: z.boolean().optional(),
  rstrip: z.boolean().optional(),
  normalized: z.boolean().optional(),
  single_word: z.boolean().optional(),
});

/** The subset of a Hugging Face `tokenizer.json` that llmd inspects. */
export const tokenizerDefinitionSchema = z.looseObject({
  // tokenizers.js requires these keys to exist, even when null.
  normalizer: componentSchema.nullable().default(null),
  pre_tokenizer: componentSchema.nullable().default(null),
  post_processor: componentSchema.nullable().default(null),
  decoder: componentSchema.nullable().default(null),
  model: z.looseObject({ type: z.string().optional() }),
  added_tokens: z.array(addedTokenSchema).default([]),
});

export type TokenizerDefinition = z.output<typeof tokenizerDefinitionSchema>;
export type AddedTokenDefinition = z.output<typeof addedTokenSchema>;

const specialTokenSchema = z.union([z.string(), z.looseObject({ content: z.string() }), z.null()]);

const namedTemplateSchema = z.object({ name: z.string(), template: z.string() });

/** The subset of a Hugging Face `tokenizer_config.json` that llmd inspects. */
export const tokenizerConfigSchema = z.looseObject({
  chat_template: z.union([z.string(), z.array(namedTemplateSchema), z.null()]).optional(),
  bos_token: specialTokenSchema.optional(),
  eos_token: specialTokenSchema.optional(),
  unk_token: specialTokenSchema.optional(),
  pad_token: specialTokenSchema.optional(),
  sep_token: specialTokenSchema.optional(),
  cls_token: specialTokenSchema.optional(),
  mask_token: specialTokenSchema.optional(),
  name_or_path: z.string().optional(),
  remove_space: z.boolean().optional(),
  do_lowercase_and_remove_accent: z.boolean().optional(),
});

export type TokenizerConfig = z.output<typeof tokenizerConfigSchema>;

export const specialTokenNames = [
  'bos_token',
  'eos_token',
  'unk_token',
  'pad_token',
  'sep_token',
  'cls_token',
  'mask_token',
] as const;

export type SpecialTokenName = (typeof specialTokenNames)[number];

/** The text of a special token, which configs write either as a string or as an AddedToken object. */
export function specialTokenText(config: TokenizerConfig, name: SpecialTokenName): string | undefined {
  const value = config[name];
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : value.content;
}
