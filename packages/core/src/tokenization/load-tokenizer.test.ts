import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlmdError } from '../errors/llmd-error.js';
import { ValidationError } from '../errors/validation-error.js';
import { qwen3TokenizerDirectory } from './__fixtures__/qwen3-tokenizer.js';
import { syntheticMetaspaceTokenizerJson } from './__fixtures__/synthetic-tokenizers.js';
import { loadTokenizer } from './load-tokenizer.js';

describe('loadTokenizer', () => {
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'llmd-load-tokenizer-'));
  });

  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  const folderWith = async (name: string, files: Record<string, string>): Promise<string> => {
    const folder = join(scratch, name);
    await mkdir(folder, { recursive: true });
    for (const [file, content] of Object.entries(files)) await writeFile(join(folder, file), content);
    return folder;
  };

  it('loads a folder with tokenizer.json and tokenizer_config.json', async () => {
    const tokenizer = await loadTokenizer(qwen3TokenizerDirectory());
    expect(tokenizer.encode('Hello world')).toEqual([9707, 1879]);
    expect(tokenizer.config.eos_token).toBe('<|im_end|>');
  });

  it('loads a tokenizer.json path and picks up the files next to it', async () => {
    const folder = await folderWith('by-file', {
      'tokenizer.json': JSON.stringify(syntheticMetaspaceTokenizerJson()),
      'chat_template.jinja': '{{ messages[0].content }}!',
    });
    const tokenizer = await loadTokenizer(join(folder, 'tokenizer.json'));
    expect(tokenizer.modelName).toBe('by-file');
    expect(tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }])).toBe('hi!');
    expect(tokenizer.decode(tokenizer.encode('the state'))).toBe('the state');
  });

  it('fails with tokenizer_not_found naming a missing path', async () => {
    const missing = join(scratch, 'nowhere', 'tokenizer.json');
    const error = await loadTokenizer(missing).catch((caught: unknown) => caught);
    expect(LlmdError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'tokenizer_not_found', path: missing });
    expect((error as Error).message).toContain(missing);
  });

  it('fails with tokenizer_not_found for a folder without tokenizer.json', async () => {
    const folder = await folderWith('empty', { 'tokenizer_config.json': '{}' });
    await expect(loadTokenizer(folder)).rejects.toMatchObject({
      code: 'tokenizer_not_found',
      message: expect.stringContaining(folder),
    });
  });

  it('fails with tokenizer_load_failed naming a file that is not JSON', async () => {
    const folder = await folderWith('malformed', { 'tokenizer.json': '{"model": {"type": "BPE", ' });
    const path = join(folder, 'tokenizer.json');
    await expect(loadTokenizer(folder)).rejects.toMatchObject({
      code: 'tokenizer_load_failed',
      path,
      message: expect.stringContaining(`Tokenizer file ${path} is not valid JSON`),
    });
  });

  it('fails with tokenizer_load_failed for JSON of the wrong shape, naming file and field', async () => {
    const folder = await folderWith('wrong-shape', { 'tokenizer.json': JSON.stringify({ model: 42 }) });
    const error = await loadTokenizer(folder).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ code: 'tokenizer_load_failed', path: 'model' });
    expect((error as Error).message).toContain(join(folder, 'tokenizer.json'));
  });

  it('fails with tokenizer_load_failed when tokenizers.js rejects the definition', async () => {
    const definition = { ...syntheticMetaspaceTokenizerJson(), model: { type: 'Martian' } };
    const folder = await folderWith('unknown-model', { 'tokenizer.json': JSON.stringify(definition) });
    await expect(loadTokenizer(folder)).rejects.toMatchObject({
      code: 'tokenizer_load_failed',
      message: expect.stringContaining('Martian'),
    });
  });

  it('fails with tokenizer_load_failed for a malformed tokenizer_config.json', async () => {
    const folder = await folderWith('bad-config', {
      'tokenizer.json': JSON.stringify(syntheticMetaspaceTokenizerJson()),
      'tokenizer_config.json': JSON.stringify({ chat_template: 7 }),
    });
    await expect(loadTokenizer(folder)).rejects.toMatchObject({
      code: 'tokenizer_load_failed',
      path: 'chat_template',
      message: expect.stringContaining(join(folder, 'tokenizer_config.json')),
    });
  });

  describe('from the Hugging Face cache', () => {
    let cache: string;
    const revision = 'c1899de289a04d12100db370d81485cdf75e47ca';
    const olderRevision = '0000000000000000000000000000000000000001';

    beforeAll(async () => {
      cache = join(scratch, 'hf-home', 'hub');
      const modelDirectory = join(cache, 'models--Qwen--Qwen3-0.6B');
      // Laid out like huggingface_hub does: snapshot files are symlinks into blobs/.
      for (const commit of [revision, olderRevision]) {
        const snapshot = join(modelDirectory, 'snapshots', commit);
        await mkdir(snapshot, { recursive: true });
        await symlink(join(qwen3TokenizerDirectory(), 'tokenizer.json'), join(snapshot, 'tokenizer.json'));
      }
      await symlink(
        join(qwen3TokenizerDirectory(), 'tokenizer_config.json'),
        join(modelDirectory, 'snapshots', revision, 'tokenizer_config.json'),
      );
      await mkdir(join(modelDirectory, 'refs'), { recursive: true });
      await writeFile(join(modelDirectory, 'refs', 'main'), `${revision}\n`);
    });

    it('resolves a model id through refs/main, with the cache folder as an option', async () => {
      const tokenizer = await loadTokenizer('Qwen/Qwen3-0.6B', { cacheDirectory: cache });
      expect(tokenizer.modelName).toBe('Qwen/Qwen3-0.6B');
      expect(tokenizer.encode('Hello world')).toEqual([9707, 1879]);
      expect(tokenizer.hasChatTemplate).toBe(true);
    });

    it('reads HF_HUB_CACHE, then HF_HOME, from the environment at call time', async () => {
      const fromHubCache = await loadTokenizer('Qwen/Qwen3-0.6B', { environment: { HF_HUB_CACHE: cache } });
      expect(fromHubCache.encode('Hello world')).toEqual([9707, 1879]);
      const fromHome = await loadTokenizer('Qwen/Qwen3-0.6B', {
        environment: { HF_HOME: join(scratch, 'hf-home') },
      });
      expect(fromHome.hasChatTemplate).toBe(true);
    });

    it('loads an explicit revision', async () => {
      const tokenizer = await loadTokenizer('Qwen/Qwen3-0.6B', {
        cacheDirectory: cache,
        revision: olderRevision,
      });
      // That snapshot has no tokenizer_config.json, hence no chat template.
      expect(tokenizer.hasChatTemplate).toBe(false);
    });

    it('fails with tokenizer_not_found, naming the cache folder, for an uncached model', async () => {
      const error = await loadTokenizer('meta-llama/Llama-3.1-8B-Instruct', { cacheDirectory: cache }).catch(
        (caught: unknown) => caught,
      );
      expect(error).toMatchObject({ code: 'tokenizer_not_found' });
      expect((error as Error).message).toContain(join(cache, 'models--meta-llama--Llama-3.1-8B-Instruct'));
      expect((error as Error).message).toContain('never downloads');
    });

    it('fails with tokenizer_not_found for an unknown revision', async () => {
      await expect(
        loadTokenizer('Qwen/Qwen3-0.6B', { cacheDirectory: cache, revision: 'no-such-branch' }),
      ).rejects.toMatchObject({
        code: 'tokenizer_not_found',
        message: expect.stringContaining('no-such-branch'),
      });
    });
  });
});
