import { readFile } from 'node:fs/promises';
import { LlmdError } from '@llmd/core';
import type { SimConfigInput } from '@llmd/sim';
import { Command, Option } from 'commander';
import { pino } from 'pino';
import type { CliIo } from '../cli-io.js';
import { parseFlags } from '../parse-flags.js';
import { runDemoTraffic } from '../up/demo-traffic.js';
import { type LocalStack, startLocalStack } from '../up/local-stack.js';
import { type UpOptions, upOptionsSchema } from '../up/up-options.js';
import { findWellLitPath, wellLitPaths } from '../up/well-lit-paths.js';
import { optionsFromSchema } from './options-from-schema.js';

export function simOverrides(options: UpOptions): Partial<SimConfigInput> {
  return {
    timeScale: options.timeScale,
    ...(options.tokenizer ? { tokenizer: options.tokenizer } : {}),
    ...(options.prefillTimePerToken ? { prefillTimePerToken: options.prefillTimePerToken } : {}),
    ...(options.interTokenLatency ? { interTokenLatency: options.interTokenLatency } : {}),
    ...(options.numGpuBlocks ? { numGpuBlocks: options.numGpuBlocks } : {}),
    ...(options.maxNumSeqs ? { maxNumSeqs: options.maxNumSeqs } : {}),
  };
}

export function describeStack(stack: LocalStack): string {
  const lines = [
    `llmd up ${stack.path.name}: ${stack.path.summary}`,
    ...stack.pods.map(
      (pod, index) =>
        `  pod ${index}        http://${pod.endpoint}  (simulated vLLM, model ${stack.modelName})`,
    ),
    `  gateway      ${stack.gatewayUrl}/v1  (OpenAI-compatible; /metrics, /health)`,
    ...(stack.extProc
      ? [`  ext_proc     grpc://127.0.0.1:${stack.extProc.port}  (plaintext, for Envoy)`]
      : []),
    `  runs:        ${stack.path.components.join('; ')}`,
    '',
    'Try it:',
    `  curl -s ${stack.gatewayUrl}/v1/chat/completions -H 'content-type: application/json' \\`,
    `    -d '{"model":"${stack.modelName}","messages":[{"role":"user","content":"Hello!"}],"max_tokens":16}'`,
    '',
    'Ctrl-C stops everything.',
  ];
  return `${lines.join('\n')}\n`;
}

/** `llmd up <path>`: a well-lit path on this machine, behind an OpenAI-compatible gateway. */
export function createUpCommand(io: CliIo): Command {
  const command = new Command('up')
    .description(
      `Run a well-lit path locally: simulated pods, EPP and gateway (paths: ${wellLitPaths.map((path) => path.name).join(', ')})`,
    )
    .argument('<path>', 'well-lit path');
  for (const option of optionsFromSchema(upOptionsSchema, ['extProc'])) command.addOption(option);
  // `--ext-proc` alone serves ext_proc on llm-d's default port; `--ext-proc 9100` picks one.
  command.addOption(
    new Option('--ext-proc [port]', 'also serve Envoy ext_proc (plaintext) on this port (default 9002)'),
  );
  return command.action(async (pathName: string, rawFlags: Record<string, unknown>) => {
    const path = findWellLitPath(pathName);
    if (!path) {
      throw new LlmdError(
        'invalid_argument',
        `unknown path "${pathName}" (available: ${wellLitPaths.map((entry) => entry.name).join(', ')})`,
      );
    }
    const options = parseFlags(upOptionsSchema, rawFlags, 'invalid_argument');
    let configText: string | undefined;
    if (options.config) {
      try {
        configText = await readFile(options.config, 'utf8');
      } catch (error) {
        throw new LlmdError(
          'invalid_argument',
          `--config: cannot read ${options.config}: ${(error as Error).message}`,
        );
      }
    }
    const routed = new Map<string, ReadonlyArray<string>>();
    const logger = pino(
      { name: 'llmd-up', level: process.env.LLMD_LOG_LEVEL ?? 'warn' },
      pino.destination(2),
    );
    const stack = await startLocalStack({
      path,
      ...(configText ? { configText } : {}),
      replicas: options.replicas,
      modelName: options.model,
      sim: simOverrides(options),
      port: options.port,
      host: options.host,
      ...(options.extProc !== undefined
        ? { extProcPort: options.extProc === true ? 9002 : options.extProc }
        : {}),
      ...(options.demo
        ? {
            onRouted: (requestId: string, targets: ReadonlyArray<string>) =>
              void routed.set(requestId, targets),
          }
        : {}),
      logger,
    });
    io.writeStdout(describeStack(stack));
    if (options.demo) await runDemoTraffic(stack, routed, io);
    await new Promise<void>((resolve) => {
      const stop = () => {
        io.writeStdout('llmd up: stopping…\n');
        void stack.close().then(resolve);
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
  });
}
