import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { LlmdError } from '../errors/llmd-error.js';

export interface WorkerEntry {
  url: URL;
  /** TypeScript entries (source runs under vitest or tsx) need a loader inside the worker. */
  language: 'javascript' | 'typescript';
}

/**
 * Locate `tokenize-worker` relative to the calling module. Built, the pool code is bundled into
 * `dist/index.js` and the worker is `dist/tokenization/tokenize-worker.js`; unbundled JavaScript has
 * it next to the pool; from sources (vitest, tsx) it is the sibling `.ts` file.
 */
export function resolveWorkerEntry(moduleUrl: string): WorkerEntry {
  const candidates: WorkerEntry[] = [
    { url: new URL('./tokenization/tokenize-worker.js', moduleUrl), language: 'javascript' },
    { url: new URL('./tokenize-worker.js', moduleUrl), language: 'javascript' },
    { url: new URL('./tokenize-worker.ts', moduleUrl), language: 'typescript' },
  ];
  const found = candidates.find((candidate) => existsSync(fileURLToPath(candidate.url)));
  if (found === undefined) {
    throw new LlmdError(
      'internal',
      `The tokenizer worker entry was not found next to ${moduleUrl} (looked for ${candidates.map((candidate) => candidate.url.pathname).join(', ')})`,
    );
  }
  return found;
}

/**
 * Start a worker on `entry`. Node 20 cannot run TypeScript in a worker and loader flags such as
 * `--import tsx` do not reach worker threads there, so a TypeScript entry is started through a small
 * bootstrap that registers tsx's loader inside the worker first. That path exists for tests and
 * source runs only; tsx must be installed (it is a root dev dependency of this repository).
 */
export function startWorker(entry: WorkerEntry, moduleUrl: string, options: WorkerOptions): Worker {
  if (entry.language === 'javascript') return new Worker(entry.url, options);
  let tsxApi: string;
  try {
    const tsxRoot = dirname(createRequire(moduleUrl).resolve('tsx/package.json'));
    tsxApi = join(tsxRoot, 'dist', 'esm', 'api', 'index.mjs');
    if (!existsSync(tsxApi)) throw new Error(`${tsxApi} does not exist`);
  } catch (error) {
    throw new LlmdError(
      'internal',
      'Running the tokenizer worker from TypeScript sources needs tsx; build the package or install tsx',
      { cause: error },
    );
  }
  const bootstrap = [
    `import(${JSON.stringify(pathToFileURL(tsxApi).href)})`,
    `.then(({ register }) => { register(); return import(${JSON.stringify(entry.url.href)}); });`,
  ].join('');
  // The parent's loader flags must not be inherited: tsx registers itself through the bootstrap.
  return new Worker(bootstrap, { ...options, eval: true, execArgv: [] });
}
