import { createBlockHasher, type HashAlgorithm, hashAlgorithms, LlmdError } from '@llmd/core';
import { Command, Option } from 'commander';
import { z } from 'zod';
import type { CliIo } from '../cli-io.js';
import { parseFlags } from '../parse-flags.js';

const hashFlagsSchema = z.object({
  algo: z.enum(hashAlgorithms),
  blockSize: z.coerce.number().int().positive(),
  seed: z.string().optional(),
  lora: z.string().optional(),
  cacheSalt: z.string().optional(),
  model: z.string().optional(),
  json: z.boolean().optional(),
});

const tokenArraySchema = z.array(z.unknown());

function parseTokenIds(text: string): number[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new LlmdError('invalid_token_ids', `stdin is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const result = tokenArraySchema.safeParse(value);
  if (!result.success) throw new LlmdError('invalid_token_ids', 'stdin must be a JSON array of token ids');
  // Range and integrality are checked by the hasher, which names the offending index.
  return result.data as number[];
}

export function createHashCommand(io: CliIo): Command {
  return new Command('hash')
    .description(
      'Print the block hashes of a JSON array of token ids read on stdin: one decimal unsigned 64-bit value per full block',
    )
    .addOption(
      new Option('--algo <algorithm>', 'hash algorithm').choices(hashAlgorithms).makeOptionMandatory(),
    )
    .requiredOption('--block-size <tokens>', 'tokens per block (vLLM --block-size, llm-d blockSizeTokens)')
    .option('--seed <seed>', 'vLLM: the engine\'s PYTHONHASHSEED (required); llm-d: hashSeed (default "")')
    .option('--lora <name>', 'LoRA adapter name')
    .option('--cache-salt <salt>', 'vLLM cache_salt (enters block 0)')
    .option('--model <name>', 'llm-d algorithms: model name folded into the chain root')
    .option('--json', 'print a JSON array of decimal strings instead of one value per line')
    .action(async (rawFlags: unknown) => {
      const flags = parseFlags(hashFlagsSchema, rawFlags);
      const hasher = createBlockHasher({
        algorithm: flags.algo as HashAlgorithm,
        blockSize: flags.blockSize,
        seed: flags.seed,
        loraName: flags.lora,
        cacheSalt: flags.cacheSalt,
        modelName: flags.model,
      });
      const hashes = hasher.hash(parseTokenIds(await io.readStdin()));
      const decimal = hashes.map((value) => value.toString());
      io.writeStdout(
        flags.json ? `${JSON.stringify(decimal)}\n` : decimal.map((line) => `${line}\n`).join(''),
      );
    });
}
