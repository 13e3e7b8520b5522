import { LlmdError } from '@llmd/core';
/** Where a CLI run reads and writes; injectable so commands are testable without a child process. */
export interface CliIo {
  readStdin(): Promise<string>;
  writeStdout(text: string): void;
  writeStderr(text: string): void;
}

/** Inputs on stdin are bounded: a token array or a prompt never needs more. */
export const maximumStdinBytes = 256 * 1024 * 1024;

export function processIo(): CliIo {
  return {
    async readStdin() {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maximumStdinBytes) {
          throw new LlmdError('invalid_argument', `stdin exceeds ${maximumStdinBytes} bytes`);
        }
        chunks.push(chunk);
      }
      return Buffer.concat(chunks).toString('utf8');
    },
    writeStdout: (text) => process.stdout.write(text),
    writeStderr: (text) => process.stderr.write(text),
  };
}
