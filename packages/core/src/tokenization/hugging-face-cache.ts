import { readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface HuggingFaceCacheOptions {
  /** The hub cache folder (the one holding `models--org--name`). Overrides every environment variable. */
  cacheDirectory?: string | undefined;
  /** Environment to read `HF_HUB_CACHE`, `HF_HOME` and `XDG_CACHE_HOME` from; defaults to `process.env` at call time. */
  environment?: Readonly<Record<string, string | undefined>> | undefined;
  /** Home folder for the `~/.cache/huggingface/hub` default; defaults to `os.homedir()` at call time. */
  homeDirectory?: string | undefined;
}

/**
 * The Hugging Face hub cache folder, resolved like `huggingface_hub` does: the explicit option, then
 * `$HF_HUB_CACHE`, then `$HF_HOME/hub`, then `$XDG_CACHE_HOME/huggingface/hub`, then
 * `~/.cache/huggingface/hub`. Reads the environment only when called, never at import.
 */
export function resolveHuggingFaceHubCacheDirectory(options: HuggingFaceCacheOptions = {}): string {
  if (options.cacheDirectory !== undefined) return options.cacheDirectory;
  const environment = options.environment ?? process.env;
  const hubCache = nonEmpty(environment.HF_HUB_CACHE);
  if (hubCache !== undefined) return hubCache;
  const hfHome = nonEmpty(environment.HF_HOME);
  if (hfHome !== undefined) return join(hfHome, 'hub');
  const xdgCache = nonEmpty(environment.XDG_CACHE_HOME);
  if (xdgCache !== undefined) return join(xdgCache, 'huggingface', 'hub');
  return join(options.homeDirectory ?? homedir(), '.cache', 'huggingface', 'hub');
}

export interface HuggingFaceSnapshotLookup extends HuggingFaceCacheOptions {
  /** A branch or tag name (resolved through `refs/`) or a commit hash. Defaults to `main`. */
  revision?: string | undefined;
  /** A file the snapshot must contain; snapshots without it are skipped. */
  requiredFile?: string | undefined;
}

export interface HuggingFaceSnapshot {
  modelId: string;
  /** The commit hash naming the snapshot folder. */
  commit: string;
  directory: string;
  /** The model's folder in the cache (`…/hub/models--Qwen--Qwen3-0.6B`). */
  modelDirectory: string;
}

/** The cache folder name of a model id: `Qwen/Qwen3-0.6B` → `models--Qwen--Qwen3-0.6B`. */
export function huggingFaceModelFolderName(modelId: string): string {
  return `models--${modelId.split('/').join('--')}`;
}

/**
 * Find a model's snapshot in the local hub cache without any network access. The revision named by
 * `refs/<revision>` wins; without such a ref, a snapshot folder named like the revision; failing that
 * (a cache populated by hand or by an older client), the most recently modified snapshot holding the
 * required file. Returns undefined when the cache has no usable snapshot.
 */
export async function findHuggingFaceSnapshot(
  modelId: string,
  options: HuggingFaceSnapshotLookup = {},
): Promise<HuggingFaceSnapshot | undefined> {
  const modelDirectory = join(
    resolveHuggingFaceHubCacheDirectory(options),
    huggingFaceModelFolderName(modelId),
  );
  const snapshotsDirectory = join(modelDirectory, 'snapshots');
  const revision = options.revision ?? 'main';
  const usable = async (commit: string): Promise<HuggingFaceSnapshot | undefined> => {
    const directory = join(snapshotsDirectory, commit);
    const required = options.requiredFile === undefined ? directory : join(directory, options.requiredFile);
    return (await exists(required)) ? { modelId, commit, directory, modelDirectory } : undefined;
  };

  const referenced = await readRef(join(modelDirectory, 'refs', revision));
  if (referenced !== undefined) {
    const snapshot = await usable(referenced);
    if (snapshot !== undefined) return snapshot;
  }
  // Guard against a revision such as "../x" escaping the snapshots folder.
  if (/^[\w.-]+$/.test(revision) && revision !== '.' && revision !== '..') {
    const snapshot = await usable(revision);
    if (snapshot !== undefined) return snapshot;
  }
  if (options.revision !== undefined) return undefined;

  let names: string[];
  try {
    names = await readdir(snapshotsDirectory);
  } catch {
    return undefined;
  }
  const candidates: { snapshot: HuggingFaceSnapshot; modified: number }[] = [];
  for (const name of names) {
    const snapshot = await usable(name);
    if (snapshot === undefined) continue;
    const modified = (await stat(snapshot.directory)).mtimeMs;
    candidates.push({ snapshot, modified });
  }
  candidates.sort((left, right) => right.modified - left.modified);
  return candidates[0]?.snapshot;
}

async function readRef(path: string): Promise<string | undefined> {
  try {
    const commit = (await readFile(path, 'utf8')).trim();
    return /^[\w.-]+$/.test(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
