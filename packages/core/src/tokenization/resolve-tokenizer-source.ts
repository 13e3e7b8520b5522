import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { LlmdError } from '../errors/llmd-error.js';
import {
  findHuggingFaceSnapshot,
  type HuggingFaceCacheOptions,
  huggingFaceModelFolderName,
  resolveHuggingFaceHubCacheDirectory,
} from './hugging-face-cache.js';

export interface ResolveTokenizerSourceOptions extends HuggingFaceCacheOptions {
  /** Revision of a Hugging Face model id (branch, tag or commit); defaults to `main`. */
  revision?: string | undefined;
}

/** The files a tokenizer is built from. Optional files are only listed when they exist. */
export interface TokenizerFileSet {
  tokenizerPath: string;
  configPath: string | undefined;
  chatTemplatePath: string | undefined;
  /** The model id when the source was one, else the name of the folder holding the files. */
  modelName: string;
  origin: 'file' | 'directory' | 'hugging-face-cache';
}

const modelIdPattern = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;

/**
 * Turn a tokenizer source into files: a `tokenizer.json` path, a folder holding one, or a Hugging Face
 * model id looked up in the local hub cache. A local path wins over a model id of the same spelling,
 * as in `transformers`. Nothing is ever downloaded.
 */
export async function resolveTokenizerSource(
  source: string,
  options: ResolveTokenizerSourceOptions = {},
): Promise<TokenizerFileSet> {
  if (source.trim() === '') throw new LlmdError('tokenizer_not_found', 'Tokenizer source is empty');
  const localPath = resolve(source.startsWith('~/') ? join(homedir(), source.slice(2)) : source);
  const localKind = await pathKind(localPath);
  if (localKind === 'file') return filesNextTo(localPath, 'file', basename(dirname(localPath)));
  if (localKind === 'directory') {
    const tokenizerPath = join(localPath, 'tokenizer.json');
    if ((await pathKind(tokenizerPath)) !== 'file') {
      throw new LlmdError('tokenizer_not_found', `Folder ${localPath} has no tokenizer.json`, {
        path: tokenizerPath,
      });
    }
    return filesNextTo(tokenizerPath, 'directory', basename(localPath));
  }

  if (!modelIdPattern.test(source) || source.endsWith('.json')) {
    throw new LlmdError('tokenizer_not_found', `Tokenizer file or folder not found: ${localPath}`, {
      path: localPath,
    });
  }
  const snapshot = await findHuggingFaceSnapshot(source, {
    ...options,
    requiredFile: 'tokenizer.json',
  });
  if (snapshot === undefined) {
    const cacheDirectory = resolveHuggingFaceHubCacheDirectory(options);
    const modelDirectory = join(cacheDirectory, huggingFaceModelFolderName(source));
    const revision = options.revision === undefined ? '' : ` at revision ${options.revision}`;
    throw new LlmdError(
      'tokenizer_not_found',
      `Tokenizer "${source}" is neither a local path nor cached${revision} in the Hugging Face cache (looked in ${modelDirectory}). llmd never downloads: fetch it first, e.g. \`huggingface-cli download ${source} tokenizer.json tokenizer_config.json\`, or pass a path`,
      { path: modelDirectory },
    );
  }
  return filesNextTo(join(snapshot.directory, 'tokenizer.json'), 'hugging-face-cache', source);
}

async function filesNextTo(
  tokenizerPath: string,
  origin: TokenizerFileSet['origin'],
  modelName: string,
): Promise<TokenizerFileSet> {
  const directory = dirname(tokenizerPath);
  const configPath = join(directory, 'tokenizer_config.json');
  const chatTemplatePath = join(directory, 'chat_template.jinja');
  return {
    tokenizerPath,
    configPath: (await pathKind(configPath)) === 'file' ? configPath : undefined,
    chatTemplatePath: (await pathKind(chatTemplatePath)) === 'file' ? chatTemplatePath : undefined,
    modelName,
    origin,
  };
}

async function pathKind(path: string): Promise<'file' | 'directory' | 'missing'> {
  try {
    const stats = await stat(path);
    return stats.isDirectory() ? 'directory' : 'file';
  } catch {
    return 'missing';
  }
}
