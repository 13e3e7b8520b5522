export { type CliIo, processIo } from './cli-io.js';
export { createProgram, exitCodes, runCli } from './run-cli.js';
export { cliVersion } from './version.js';
