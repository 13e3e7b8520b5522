import { engineHashAlgorithms, LlmdError } from '@llmd/core';
import { Command, Option } from 'commander';
import { z } from 'zod';
import type { CliIo } from '../cli-io.js';
import { doctorOptionsSchema } from '../doctor/doctor-options.js';
import { formatDoctorReport } from '../doctor/format-doctor-report.js';
import { runDoctor } from '../doctor/run-doctor.js';
import { parseFlags } from '../parse-flags.js';

/** Lists may be given comma-separated, repeated, or both: `--endpoints a,b --endpoints c`. */
const listFlagSchema = z
  .array(z.string())
  .default([])
  .transform((values) =>
    values
      .flatMap((value) => value.split(','))
      .map((value) => value.trim())
      .filter((value) => value !== ''),
  );

const doctorFlagsSchema = z.object({
  endpoints: listFlagSchema,
  kvEvents: listFlagSchema,
  indexUrl: z.string().optional(),
  eppMetricsUrl: z.string().optional(),
  blockSize: z.coerce.number().int().positive().optional(),
  hashAlgo: z.enum(engineHashAlgorithms).optional(),
  hashSeed: z.string().optional(),
  engineType: z.string(),
  listenSeconds: z.coerce.number().min(0).max(600),
  timeoutSeconds: z.coerce.number().positive().max(600),
  json: z.boolean().optional(),
});

/**
 * `llmd doctor`: check a running setup and say what is wrong. Exit 0 when no check fails, 1 when
 * one does (the setup has a problem), 2 for flags that cannot be used.
 */
export function createDoctorCommand(io: CliIo): Command {
  return new Command('doctor')
    .description(
      'Check a running llm-d/llmd setup and say what is wrong: unreachable endpoints, missing metric names, KV events that are missing, badly addressed or hashed unlike the index expects, an empty index while traffic flows, an EPP without endpoints',
    )
    .option('--endpoints <addresses...>', 'model servers to check, ip:port (comma-separated or repeated)')
    .option(
      '--kv-events <targets...>',
      "engines' KV-event sockets, ip:port=tcp://host:port[|tcp://host:replayPort] (the replay socket also yields earlier events)",
    )
    .option('--index-url <url>', 'the KV-cache index service (llmd index), e.g. http://127.0.0.1:8080')
    .option('--epp-metrics-url <url>', "the EPP's Prometheus endpoint, e.g. http://127.0.0.1:9090/metrics")
    .option(
      '--block-size <tokens>',
      "the index's block size (llmd index --block-size, llm-d blockSizeTokens)",
    )
    .addOption(
      new Option(
        '--hash-algo <algorithm>',
        "the engines' --prefix-caching-hash-algo the index expects (default: what each engine reports)",
      ).choices(engineHashAlgorithms),
    )
    .option('--hash-seed <seed>', "the engines' PYTHONHASHSEED the index expects")
    .option(
      '--engine-type <name>',
      'engine of the endpoints, for the metric names the EPP reads: vllm, sglang, trtllm, triton-tensorrt-llm',
      'vllm',
    )
    .option('--listen-seconds <seconds>', 'how long to listen for KV events and watch traffic counters', '3')
    .option('--timeout-seconds <seconds>', 'timeout of each request and socket probe', '2')
    .option('--json', 'print the report as JSON')
    .action(async (rawFlags: unknown) => {
      const flags = parseFlags(doctorFlagsSchema, rawFlags);
      // Validated here so that errors name the flags (the keys are the flags' camelCase).
      const options = parseFlags(doctorOptionsSchema, {
        endpoints: flags.endpoints,
        kvEvents: flags.kvEvents,
        ...(flags.indexUrl === undefined ? {} : { indexUrl: flags.indexUrl }),
        ...(flags.eppMetricsUrl === undefined ? {} : { eppMetricsUrl: flags.eppMetricsUrl }),
        ...(flags.blockSize === undefined ? {} : { blockSize: flags.blockSize }),
        ...(flags.hashAlgo === undefined ? {} : { hashAlgo: flags.hashAlgo }),
        ...(flags.hashSeed === undefined ? {} : { hashSeed: flags.hashSeed }),
        engineType: flags.engineType,
        listenMilliseconds: Math.round(flags.listenSeconds * 1000),
        requestTimeoutMilliseconds: Math.round(flags.timeoutSeconds * 1000),
      });
      const report = await runDoctor(options);
      io.writeStdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report));
      if (report.counts.fail > 0) {
        // `internal` is the code the CLI maps to exit 1: the input was fine, the setup is not.
        throw new LlmdError(
          'internal',
          `${report.counts.fail} check${report.counts.fail === 1 ? '' : 's'} failed: the setup has a problem (see above)`,
        );
      }
    });
}
