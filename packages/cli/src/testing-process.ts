import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cliSource = join(dirname(fileURLToPath(import.meta.url)), 'bin.ts');

/** Start the CLI from source (no build needed) in a child process, as `llmd <argv>`. */
export function spawnCli(
  argv: string[],
  environment: NodeJS.ProcessEnv = {},
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--conditions=@llmd/source', '--import', 'tsx', cliSource, ...argv], {
    env: { ...process.env, ...environment },
    stdio: 'pipe',
  });
}

/** Resolve with the first stdout match of `pattern`; reject if the process exits first. */
export function waitForOutput(
  child: ChildProcessWithoutNullStreams,
  pattern: RegExp,
  timeoutMilliseconds = 20_000,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let output = '';
    let errors = '';
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}; stdout: ${output}; stderr: ${errors}`)),
      timeoutMilliseconds,
    );
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${pattern}; stdout: ${output}; stderr: ${errors}`));
    });
  });
}

export function waitForExit(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
