import { ignoredVllmFlags, simConfigSchema, startSimServer } from '@llmd/sim';
import { Command, Option } from 'commander';
import { pino } from 'pino';
import { z } from 'zod';
import type { CliIo } from '../cli-io.js';
import { parseFlags } from '../parse-flags.js';
import { optionsFromSchema } from './options-from-schema.js';

/** `llmd sim`: one simulated vLLM pod per process, flag-compatible with vLLM and llm-d-inference-sim. */
export function createSimCommand(io: CliIo): Command {
  const command = new Command('sim')
    .description('Run a vLLM-compatible model-server simulator (OpenAI API, vLLM metrics, KV events)')
    .argument('[model]', 'model name, as in `vllm serve MODEL`')
    .option('--drain-timeout <seconds>', 'on SIGTERM, how long in-flight requests may finish', '30');
  for (const option of optionsFromSchema(simConfigSchema)) command.addOption(option);
  for (const flag of ignoredVllmFlags)
    command.addOption(new Option(`--${flag} [value]`, 'accepted for vLLM compatibility; ignored').hideHelp());
  return command.action(async (model: string | undefined, rawFlags: Record<string, unknown>) => {
    const { drainTimeout: rawDrainTimeout, ...flags } = rawFlags;
    const drainTimeout = parseFlags(z.object({ drainTimeout: z.coerce.number().nonnegative() }), {
      drainTimeout: rawDrainTimeout,
    }).drainTimeout;
    for (const flag of ignoredVllmFlags)
      delete flags[flag.replace(/-([a-z])/g, (_match, letter: string) => letter.toUpperCase())];
    if (model !== undefined) flags.model ??= model;
    const config = parseFlags(simConfigSchema, flags, 'invalid_config');
    const logger = pino({ name: 'llmd-sim' }, pino.destination(2));
    const server = await startSimServer(config, {
      logger,
      environment: {
        pythonHashSeed: process.env.PYTHONHASHSEED,
        podIp: process.env.POD_IP,
        podName: process.env.POD_NAME,
        podNamespace: process.env.POD_NAMESPACE,
      },
    });
    for (const rank of server.ranks) {
      io.writeStdout(
        `llmd sim: rank ${rank.rank} serving ${config.servedModelName?.[0] ?? config.model} on ${rank.url}${rank.kvEvents ? `, KV events on ${rank.kvEvents.endpoint}` : ''}\n`,
      );
    }
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        logger.info({ signal }, 'draining in-flight requests');
        void server.close(Number(drainTimeout) * 1000).then(resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  });
}
