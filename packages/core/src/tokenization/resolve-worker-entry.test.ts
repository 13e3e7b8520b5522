import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveWorkerEntry, startWorker } from './resolve-worker-entry.js';

describe('resolveWorkerEntry', () => {
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'llmd-worker-entry-'));
    await mkdir(join(scratch, 'dist', 'tokenization'), { recursive: true });
    await writeFile(
      join(scratch, 'dist', 'tokenization', 'tokenize-worker.js'),
      "import { parentPort } from 'node:worker_threads'; parentPort.postMessage('built worker');",
    );
    await writeFile(join(scratch, 'package.json'), '{"type":"module"}');
  });

  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('finds the TypeScript source next to this module', () => {
    const entry = resolveWorkerEntry(new URL('./tokenizer-worker-pool.ts', import.meta.url).href);
    expect(entry.language).toBe('typescript');
    expect(entry.url.href).toBe(new URL('./tokenize-worker.ts', import.meta.url).href);
  });

  it('finds the built worker relative to a bundled dist/index.js and runs it', async () => {
    const bundle = pathToFileURL(join(scratch, 'dist', 'index.js')).href;
    const entry = resolveWorkerEntry(bundle);
    expect(entry).toEqual({
      url: pathToFileURL(join(scratch, 'dist', 'tokenization', 'tokenize-worker.js')),
      language: 'javascript',
    });
    const worker = startWorker(entry, bundle, {});
    const message = await new Promise((resolve) => worker.once('message', resolve));
    expect(message).toBe('built worker');
    await worker.terminate();
  });

  it('fails with an internal error naming the places it looked', () => {
    expect(() => resolveWorkerEntry(pathToFileURL(join(scratch, 'elsewhere', 'index.js')).href)).toThrow(
      expect.objectContaining({ code: 'internal', message: expect.stringContaining('tokenize-worker') }),
    );
  });
});
