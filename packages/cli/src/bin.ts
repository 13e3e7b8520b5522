#!/usr/bin/env node
import { processIo } from './cli-io.js';
import { runCli } from './run-cli.js';

runCli(process.argv.slice(2), processIo()).then(
  (exitCode) => {
    process.exitCode = exitCode;
  },
  (error: unknown) => {
    process.stderr.write(`llmd: unexpected error: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
