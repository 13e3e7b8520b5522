import { readFile } from 'node:fs/promises';
import { LlmdError } from '../errors/llmd-error.js';
import { type Logger, noopLogger } from '../logging/logger.js';
import { HuggingFaceTokenizer } from './hugging-face-tokenizer.js';
import { type ResolveTokenizerSourceOptions, resolveTokenizerSource } from './resolve-tokenizer-source.js';

export interface LoadTokenizerOptions extends ResolveTokenizerSourceOptions {
  /** Overrides the model name derived from the source. */
  modelName?: string | undefined;
  logger?: Logger | undefined;
}

/**
 * Load a tokenizer from a `tokenizer.json` path, a folder holding one (with `tokenizer_config.json`
 * and `chat_template.jinja` next to it when present; that file wins over a template in the config)
 * or a Hugging Face model id found in the local cache. Missing files fail with `tokenizer_not_found`,
 * unreadable or malformed ones with `tokenizer_load_failed`; both messages name the path.
 *
 * Parsing a large tokenizer (Qwen3: 11 MB of JSON) blocks the calling thread for a few hundred
 * milliseconds; load once and reuse, e.g. through `createTokenizerCache`.
 */
export async function loadTokenizer(
  source: string,
  options: LoadTokenizerOptions = {},
): Promise<HuggingFaceTokenizer> {
  const logger = options.logger ?? noopLogger;
  const files = await resolveTokenizerSource(source, options);
  const startedAt = performance.now();
  const tokenizerJson = await readJsonFile(files.tokenizerPath);
  const tokenizerConfig = files.configPath === undefined ? undefined : await readJsonFile(files.configPath);
  const chatTemplateFile =
    files.chatTemplatePath === undefined ? undefined : await readTextFile(files.chatTemplatePath);
  const tokenizer = new HuggingFaceTokenizer({
    tokenizerJson,
    tokenizerConfig,
    chatTemplateFile,
    name: source,
    modelName: options.modelName ?? files.modelName,
    tokenizerPath: files.tokenizerPath,
    configPath: files.configPath,
  });
  logger.debug(
    {
      source,
      tokenizerPath: files.tokenizerPath,
      origin: files.origin,
      milliseconds: Math.round(performance.now() - startedAt),
    },
    'tokenizer loaded',
  );
  return tokenizer;
}

async function readTextFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new LlmdError('tokenizer_not_found', `Tokenizer file not found: ${path}`, { path, cause: error });
    }
    throw new LlmdError(
      'tokenizer_load_failed',
      `Tokenizer file ${path} could not be read: ${String(error)}`,
      {
        path,
        cause: error,
      },
    );
  }
}

async function readJsonFile(path: string): Promise<unknown> {
  const text = await readTextFile(path);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new LlmdError(
      'tokenizer_load_failed',
      `Tokenizer file ${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
      { path, cause: error },
    );
  }
}
