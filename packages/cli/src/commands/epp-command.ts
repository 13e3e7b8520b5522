import { LlmdError } from '@llmd/core';
import { eppServerConfigSchema, removedEppFlags, startEppServer } from '@llmd/epp';
import { Command, Option } from 'commander';
import { pino } from 'pino';
import type { CliIo } from '../cli-io.js';
import { parseFlags } from '../parse-flags.js';
import { optionsFromSchema } from './options-from-schema.js';

/** `llmd epp`: the Endpoint Picker behind Envoy (ext_proc), with llm-d's flag names. */
export function createEppCommand(io: CliIo): Command {
  const command = new Command('epp').description(
    'Run the Endpoint Picker: Envoy ext_proc on --grpc-port, gRPC health on --grpc-health-port, Prometheus on --metrics-port (optionally the embedded gateway on --gateway-port)',
  );
  for (const option of optionsFromSchema(eppServerConfigSchema)) command.addOption(option);
  for (const removed of removedEppFlags) command.addOption(new Option(`--${removed} <value>`).hideHelp());
  return command.action(async (rawFlags: Record<string, unknown>) => {
    for (const removed of removedEppFlags) {
      const key = removed.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
      if (rawFlags[key] !== undefined) {
        throw new LlmdError(
          'invalid_argument',
          `--${removed} was removed (as in llm-d): map engine metrics with core-metrics-extractor engineConfigs in the EndpointPickerConfig`,
        );
      }
    }
    const flags: Record<string, unknown> = { ...rawFlags };
    // Go-style `--flag` with no value means true.
    for (const [key, value] of Object.entries(flags)) if (value === true) flags[key] = 'true';
    if (flags.poolNamespace === undefined && process.env.NAMESPACE)
      flags.poolNamespace = process.env.NAMESPACE;
    parseFlags(eppServerConfigSchema, flags, 'invalid_config');
    const logger = pino({ name: 'llmd-epp' }, pino.destination(2));
    const server = await startEppServer(flags, { logger });
    const endpoints = server.picker.datastore.size;
    io.writeStdout(
      `llmd epp: ext_proc on port ${server.extProc.port} (${server.extProc.tls ? 'TLS' : 'plaintext'}), health on ${server.extProc.healthPort ?? server.extProc.port}, metrics on ${server.metricsPort}${server.gateway ? `, gateway on ${server.gateway.url}` : ''}; ${endpoints} endpoint${endpoints === 1 ? '' : 's'}\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = (signal: NodeJS.Signals) => {
        if (signal === 'SIGTERM') {
          // llm-d's drain: report NOT_SERVING so the proxy stops sending, keep serving open
          // streams until they finish or --drain-timeout passes.
          server.drain();
          const deadline =
            Date.now() + parseFlags(eppServerConfigSchema, flags, 'invalid_config').drainTimeout;
          const poll = setInterval(() => {
            if (server.extProc.activeStreams() > 0 && Date.now() < deadline) return;
            clearInterval(poll);
            void server.close().then(resolve);
          }, 100);
        } else {
          void server.close().then(resolve);
        }
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
  });
}
