import { chatMessageSchema, LlmdError, loadTokenizer, parseWithSchema } from '@llmd/core';
import { Command } from 'commander';
import { z } from 'zod';
import type { CliIo } from '../cli-io.js';
import { parseFlags } from '../parse-flags.js';

const tokenizeFlagsSchema = z.object({
  tokenizer: z.string().min(1),
  chat: z.boolean().optional(),
  generationPrompt: z.boolean(),
  addSpecialTokens: z.boolean(),
});

const chatMessagesSchema = z.array(chatMessageSchema).min(1);

function parseChatMessages(text: string) {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new LlmdError('invalid_request', `stdin is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseWithSchema(chatMessagesSchema, value, 'invalid_request', 'chat messages');
}

export function createTokenizeCommand(io: CliIo): Command {
  return new Command('tokenize')
    .description(
      "Print the token ids of the text on stdin as a JSON array (with --chat: a JSON array of chat messages rendered with the model's chat template)",
    )
    .requiredOption(
      '--tokenizer <source>',
      'tokenizer.json file, folder holding one, or Hugging Face model name found in the local cache (never downloaded)',
    )
    .option('--chat', 'stdin is a JSON array of {role, content} messages')
    .option(
      '--no-generation-prompt',
      'with --chat: do not append the assistant turn opener (add_generation_prompt)',
    )
    .option('--no-add-special-tokens', "without --chat: do not add the tokenizer's special tokens (BOS, …)")
    .action(async (rawFlags: unknown) => {
      const flags = parseFlags(tokenizeFlagsSchema, rawFlags);
      const input = await io.readStdin();
      // Validate the input before loading the tokenizer: parsing a large tokenizer.json takes a while.
      const messages = flags.chat ? parseChatMessages(input) : undefined;
      const tokenizer = await loadTokenizer(flags.tokenizer);
      const tokenIds = messages
        ? // vLLM tokenizes rendered chat without adding special tokens: the template already has them.
          tokenizer.encode(
            tokenizer.applyChatTemplate(messages, { addGenerationPrompt: flags.generationPrompt }),
            { addSpecialTokens: false },
          )
        : tokenizer.encode(input, { addSpecialTokens: flags.addSpecialTokens });
      io.writeStdout(`${JSON.stringify(tokenIds)}\n`);
    });
}
