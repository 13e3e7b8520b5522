import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LlmdError } from '@llmd/core';

/**
 * The package's `proto/` folder. It ships next to `dist/` and `src/`, so it sits one level above
 * the bundled `dist/*.js`, two above `src/server/` and three above `src/server/testing/`.
 */
export function eppProtoDirectory(fromDirectory: string = dirname(fileURLToPath(import.meta.url))): string {
  for (const levelsUp of [1, 2, 3]) {
    const candidate = join(fromDirectory, ...Array<string>(levelsUp).fill('..'), 'proto');
    if (existsSync(join(candidate, 'health.proto'))) return candidate;
  }
  throw new LlmdError('internal', `the @llmd/epp proto folder was not found above ${fromDirectory}`);
}
