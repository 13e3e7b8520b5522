import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * Tests read real captured data from the `shared/` folder that sits beside the repository
 * checkout (it is never copied into the repo). These helpers find it and parse its files.
 */
export function findSharedFolder(from: string = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let directory = resolve(from);
  for (;;) {
    if (existsSync(join(directory, 'pnpm-workspace.yaml'))) {
      const shared = resolve(directory, '..', 'shared');
      return existsSync(join(shared, 'fixtures')) ? shared : undefined;
    }
    const parent = dirname(directory);
    if (parent === directory) return undefined;
    directory = parent;
  }
}

/** Why a fixture-backed test is skipped, for the skip message. */
export const sharedFixturesMissingMessage =
  'skipped: ../shared/fixtures (captured vLLM data) is not beside this checkout';

const kvEventFixtureSchema = z.object({
  prompt: z.string(),
  token_ids: z.array(z.number().int().nonnegative()),
  block_hashes: z.array(z.union([z.string(), z.number()]).transform((value) => BigInt(value))),
  parent_block_hash: z.union([z.string(), z.number(), z.null()]),
  block_size: z.number().int().positive(),
  hash_seed: z.union([z.string(), z.number()]).transform(String),
  medium: z.string().optional(),
  model_name: z.string(),
  lora_name: z.string().nullish(),
});

export type VllmKvEventFixture = z.output<typeof kvEventFixtureSchema>;

/**
 * One of the captured vLLM KV-event files (`kv_event_base.json`, `kv_event_lora.json`). Hashes
 * exceed 2^53, so they are read from the raw text, never through JavaScript numbers.
 */
export function readVllmKvEventFixture(sharedFolder: string, fileName: string): VllmKvEventFixture {
  const text = readFileSync(join(sharedFolder, 'fixtures', 'vllm', fileName), 'utf8');
  // Quote bare integers longer than 15 digits so JSON.parse cannot round them.
  const safeText = text.replace(/([:[,]\s*)(\d{16,})(?=\s*[,\]}])/g, '$1"$2"');
  return kvEventFixtureSchema.parse(JSON.parse(safeText));
}
