import type { CliIo } from './cli-io.js';

/** An in-memory {@link CliIo} for tests. */
export function createMemoryIo(stdin = ''): CliIo & { stdout: () => string; stderr: () => string } {
  let stdout = '';
  let stderr = '';
  return {
    readStdin: async () => stdin,
    writeStdout: (text) => {
      stdout += text;
    },
    writeStderr: (text) => {
      stderr += text;
    },
    stdout: () => stdout,
    stderr: () => stderr,
  };
}
