/**
 * `llmd bench` until the command is wired into the CLI: parses the same flags and runs the same
 * function. Run from packages/cli:
 *   node --conditions=@llmd/source --import tsx bench/routing-benchmark.ts --compare round-robin,precise …
 */
import { processIo } from '../src/cli-io.js';
import { createBenchCommand } from '../src/commands/bench-command.js';

const command = createBenchCommand(processIo());
try {
  await command.parseAsync(process.argv.slice(2), { from: 'user' });
} catch (error) {
  process.stderr.write(`llmd: error: ${(error as Error).message}\n`);
  process.exitCode = 2;
}
