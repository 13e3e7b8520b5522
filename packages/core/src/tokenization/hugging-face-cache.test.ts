import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  findHuggingFaceSnapshot,
  huggingFaceModelFolderName,
  resolveHuggingFaceHubCacheDirectory,
} from './hugging-face-cache.js';

describe('resolveHuggingFaceHubCacheDirectory', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('prefers the option, then HF_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME and the home folder', () => {
    const environment = { HF_HUB_CACHE: '/hub', HF_HOME: '/home-hf', XDG_CACHE_HOME: '/xdg' };
    expect(resolveHuggingFaceHubCacheDirectory({ cacheDirectory: '/explicit', environment })).toBe(
      '/explicit',
    );
    expect(resolveHuggingFaceHubCacheDirectory({ environment })).toBe('/hub');
    expect(resolveHuggingFaceHubCacheDirectory({ environment: { ...environment, HF_HUB_CACHE: '' } })).toBe(
      '/home-hf/hub',
    );
    expect(resolveHuggingFaceHubCacheDirectory({ environment: { XDG_CACHE_HOME: '/xdg' } })).toBe(
      '/xdg/huggingface/hub',
    );
    expect(resolveHuggingFaceHubCacheDirectory({ environment: {}, homeDirectory: '/users/ada' })).toBe(
      '/users/ada/.cache/huggingface/hub',
    );
  });

  it('reads process.env when called, not when imported', () => {
    vi.stubEnv('HF_HUB_CACHE', '/stubbed/hub');
    expect(resolveHuggingFaceHubCacheDirectory()).toBe('/stubbed/hub');
    vi.stubEnv('HF_HUB_CACHE', '/changed/hub');
    expect(resolveHuggingFaceHubCacheDirectory()).toBe('/changed/hub');
  });

  it('names model folders like huggingface_hub', () => {
    expect(huggingFaceModelFolderName('Qwen/Qwen3-0.6B')).toBe('models--Qwen--Qwen3-0.6B');
    expect(huggingFaceModelFolderName('gpt2')).toBe('models--gpt2');
  });
});

describe('findHuggingFaceSnapshot', () => {
  let cache: string;

  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), 'llmd-hf-cache-'));
    const snapshots = join(cache, 'models--org--model', 'snapshots');
    for (const [commit, modified] of [
      ['aaaa', 1_000],
      ['bbbb', 2_000],
      ['cccc', 3_000],
    ] as const) {
      await mkdir(join(snapshots, commit), { recursive: true });
      if (commit !== 'cccc') await writeFile(join(snapshots, commit, 'tokenizer.json'), '{}');
      await utimes(join(snapshots, commit), modified, modified);
    }
  });

  afterAll(async () => {
    await rm(cache, { recursive: true, force: true });
  });

  it('falls back to the newest snapshot holding the required file when refs/main is missing', async () => {
    const snapshot = await findHuggingFaceSnapshot('org/model', {
      cacheDirectory: cache,
      requiredFile: 'tokenizer.json',
    });
    expect(snapshot).toMatchObject({ commit: 'bbbb', modelId: 'org/model' });
    expect(snapshot?.directory).toBe(join(cache, 'models--org--model', 'snapshots', 'bbbb'));
  });

  it('accepts a commit hash as revision and refuses path tricks', async () => {
    await expect(
      findHuggingFaceSnapshot('org/model', { cacheDirectory: cache, revision: 'aaaa' }),
    ).resolves.toMatchObject({
      commit: 'aaaa',
    });
    await expect(
      findHuggingFaceSnapshot('org/model', { cacheDirectory: cache, revision: '..' }),
    ).resolves.toBeUndefined();
  });

  it('returns undefined for a model that is not cached', async () => {
    await expect(findHuggingFaceSnapshot('org/other', { cacheDirectory: cache })).resolves.toBeUndefined();
  });
});
