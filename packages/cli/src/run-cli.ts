import { LlmdError } from '@llmd/core';
import { Command, CommanderError } from 'commander';
import type { CliIo } from './cli-io.js';
import { createBenchCommand } from './commands/bench-command.js';
import { createDoctorCommand } from './commands/doctor-command.js';
import { createEppCommand } from './commands/epp-command.js';
import { createHashCommand } from './commands/hash-command.js';
import { createIndexCommand } from './commands/index-command.js';
import { createSimCommand } from './commands/sim-command.js';
import { createTokenizeCommand } from './commands/tokenize-command.js';
import { createUpCommand } from './commands/up-command.js';
import { cliVersion } from './version.js';

/** Exit codes: 0 success, 1 unexpected failure, 2 bad input (flags, stdin, files). */
export const exitCodes = { success: 0, failure: 1, badInput: 2 } as const;

export function createProgram(io: CliIo): Command {
  const output = {
    writeOut: (text: string) => io.writeStdout(text),
    writeErr: (text: string) => io.writeStderr(text),
    // Commander's messages start with "error: "; one prefixed line is the whole report.
    outputError: (text: string, write: (text: string) => void) => write(`llmd: ${text}`),
  };
  const program = new Command('llmd')
    .description('llmd: inference-aware routing for LLM serving (llm-d compatible)')
    .version(cliVersion, '-V, --version', 'print the version')
    .option('--debug', 'print stack traces on errors')
    .exitOverride()
    .showSuggestionAfterError(false)
    .configureOutput(output)
    .action(() => {
      throw new LlmdError('invalid_argument', 'missing command (run llmd --help)');
    });
  for (const command of [
    createHashCommand(io),
    createTokenizeCommand(io),
    createSimCommand(io),
    createIndexCommand(io),
    createEppCommand(io),
    createUpCommand(io),
    createBenchCommand(io),
    createDoctorCommand(io),
  ]) {
    program.addCommand(command.exitOverride().configureOutput(output));
  }
  return program;
}

/**
 * Run the CLI with `argv` (without node and script) and return the exit code instead of exiting,
 * so tests and embedders can call it. Bad input prints one line; `--debug` adds the stack.
 */
export async function runCli(argv: ReadonlyArray<string>, io: CliIo): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCodes.success;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed its message (or the help/version text).
      if (
        error.exitCode === 0 ||
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version'
      ) {
        return exitCodes.success;
      }
      return exitCodes.badInput;
    }
    const debug = argv.includes('--debug');
    const stack = debug && error instanceof Error && error.stack ? `\n${error.stack}` : '';
    if (LlmdError.isInstance(error)) {
      io.writeStderr(`llmd: error: ${error.message}${stack}\n`);
      // Exit 2 is for input the user can fix; failures of ours or of a remote service exit 1.
      return error.code === 'internal' || error.code === 'render_failed'
        ? exitCodes.failure
        : exitCodes.badInput;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.writeStderr(
      `llmd: unexpected error: ${message}${stack || '\n(run with --debug for the stack trace)'}\n`,
    );
    return exitCodes.failure;
  }
}
