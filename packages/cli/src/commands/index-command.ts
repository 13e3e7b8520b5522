import { kvIndexServerConfigSchema, startKvIndexServer } from '@llmd/kv-index';
import { Command } from 'commander';
import { pino } from 'pino';
import type { CliIo } from '../cli-io.js';
import { parseFlags } from '../parse-flags.js';
import { optionsFromSchema } from './options-from-schema.js';

/** `llmd index`: the precise prefix-cache index as a service, fed by vLLM KV events. */
export function createIndexCommand(io: CliIo): Command {
  const command = new Command('index').description(
    'Run the KV-cache prefix index: ingest vLLM KV events over ZeroMQ, serve /v1/score, /v1/endpoints, gRPC IndexerService and /metrics',
  );
  for (const option of optionsFromSchema(kvIndexServerConfigSchema)) command.addOption(option);
  return command.action(async (rawFlags: Record<string, unknown>) => {
    const flags = { ...rawFlags };
    // The engine seed defaults to the environment's PYTHONHASHSEED, as the engines read it.
    if (
      flags.engineHashAlgo !== undefined &&
      flags.engineHashSeed === undefined &&
      process.env.PYTHONHASHSEED !== undefined
    ) {
      flags.engineHashSeed = process.env.PYTHONHASHSEED;
    }
    // Validate here so errors name the flags; the server parses the same input again.
    parseFlags(kvIndexServerConfigSchema, flags, 'invalid_config');
    const logger = pino({ name: 'llmd-index' }, pino.destination(2));
    const server = await startKvIndexServer(flags, { logger });
    io.writeStdout(
      `llmd index: serving ${server.service.httpUrl}${server.service.grpcPort !== undefined ? `, gRPC on port ${server.service.grpcPort}` : ''}${server.zmqEndpoint ? `, KV events bound on ${server.zmqEndpoint}` : ''}\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => void server.close().then(resolve);
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
  });
}
