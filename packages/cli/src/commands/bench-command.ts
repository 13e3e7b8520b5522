import { setMaxListeners } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LlmdError, type Logger, loadTokenizer, noopLogger } from '@llmd/core';
import type { SimConfigInput } from '@llmd/sim';
import { Command } from 'commander';
import { pino } from 'pino';
import { z } from 'zod';
import { type ArrivalsInput, planArrivals } from '../bench/arrivals.js';
import type { BenchResult } from '../bench/bench-result.js';
import { type BenchProgress, runBench } from '../bench/bench-runner.js';
import { compareRoutingSetups } from '../bench/compare-setups.js';
import { renderHtmlReport } from '../bench/html-report.js';
import { formatTarget, type NamedBenchResult } from '../bench/named-result.js';
import { type OracleHitRate, oracleAssumptions, replayOracle } from '../bench/oracle-hit-rate.js';
import { formatOracleSummary } from '../bench/oracle-summary.js';
import { createProgressBar, type ProgressStream } from '../bench/progress-bar.js';
import { createPromptVocabulary, type PromptVocabulary } from '../bench/prompt-vocabulary.js';
import { formatBenchTable, formatComparisonTable } from '../bench/report-table.js';
import { formatResultsJson } from '../bench/results-json.js';
import { parseRoutingSetupList, type RoutingSetup, routingSetupNames } from '../bench/routing-setups.js';
import { createWorkload, type WorkloadInput, workloadTypes } from '../bench/workloads.js';
import type { CliIo } from '../cli-io.js';
import { parseFlags } from '../parse-flags.js';
import { optionsFromSchema } from './options-from-schema.js';

const positive = z.coerce.number().positive();
const positiveInteger = z.coerce.number().int().positive();

/** `3,10,30` → [3, 10, 30]. */
const rateListSchema = z.string().transform((text, context) => {
  const rates = text.split(',').map((part) => Number(part.trim()));
  if (rates.length === 0 || rates.some((rate) => !Number.isFinite(rate) || rate <= 0)) {
    context.addIssue({
      code: 'custom',
      message: 'expected positive request rates separated by commas, e.g. 3,10,30',
    });
    return z.NEVER;
  }
  return rates;
});

/** `512` or `512-1024` (drawn uniformly per request). */
const lengthRangeSchema = z.string().transform((text, context) => {
  const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(text);
  const minimum = Number(match?.[1]);
  const maximum = Number(match?.[2] ?? match?.[1]);
  if (!match || minimum < 1 || maximum < minimum) {
    context.addIssue({ code: 'custom', message: 'expected a length like 512 or a range like 512-1024' });
    return z.NEVER;
  }
  return { min: minimum, max: maximum };
});

/** `llmd bench` flags (camelCase; the CLI spells them in kebab-case). */
export const benchFlagsSchema = z
  .object({
    target: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('bench this running OpenAI-compatible server or gateway (e.g. http://localhost:8000)'),
    compare: z
      .string()
      .optional()
      .describe(
        `run the workload on a fresh local cluster per routing setup: ${routingSetupNames.join(',')}`,
      ),
    workload: z
      .enum(workloadTypes)
      .default('shared-prefix')
      .describe(`workload: ${workloadTypes.join(', ')}`),
    api: z
      .enum(['completions', 'chat'])
      .optional()
      .describe('shared-prefix, random: completions (default) or chat'),
    numGroups: positiveInteger
      .optional()
      .describe('shared-prefix: groups, each with its own system prompt (150)'),
    promptsPerGroup: positiveInteger.optional().describe('shared-prefix: users (questions) per group (5)'),
    systemPromptLength: z.coerce
      .number()
      .int()
      .min(0)
      .optional()
      .describe('shared-prefix: tokens of the shared system prompt (6000); multi-turn: per conversation (0)'),
    questionLength: positiveInteger.optional().describe('shared-prefix: tokens of each question (1200)'),
    outputLength: positiveInteger
      .optional()
      .describe('tokens to generate per request (shared-prefix 1000, multi-turn 200, random 256)'),
    users: positiveInteger.optional().describe('multi-turn: concurrent conversations (10)'),
    turns: positiveInteger.optional().describe('multi-turn: user turns per conversation (5)'),
    turnLength: positiveInteger.optional().describe('multi-turn: tokens of each user message (200)'),
    promptLength: lengthRangeSchema
      .optional()
      .describe('random: prompt tokens, e.g. 512 or 512-1024 (512-1024)'),
    rate: positive.optional().describe('requests per second (open loop)'),
    rates: rateListSchema
      .optional()
      .describe('a rate ladder, e.g. 3,10,30: each rate for --duration / --requests'),
    concurrency: positiveInteger.optional().describe('requests kept in flight (closed loop)'),
    duration: positive.optional().describe('seconds of sending per load level'),
    requests: positiveInteger.optional().describe('requests per load level'),
    distribution: z
      .enum(['poisson', 'constant'])
      .default('poisson')
      .describe('arrival gaps with --rate/--rates: poisson (default) or constant'),
    replicas: z.coerce
      .number()
      .int()
      .min(1)
      .max(64)
      .default(8)
      .describe('--compare: simulated pods per cluster'),
    model: z
      .string()
      .min(1)
      .optional()
      .describe("model name (default: the target's first model, or Qwen/Qwen3-0.6B)"),
    tokenizer: z
      .string()
      .min(1)
      .optional()
      .describe(
        "tokenizer.json, folder or cached Hugging Face model: exact token lengths; the pods use it too (default: words, the simulator's word tokenizer)",
      ),
    timeScale: positive
      .optional()
      .describe('--compare: simulated pods run this many times faster than real time (1)'),
    blockSize: positiveInteger
      .default(64)
      .describe('--compare: tokens per KV block, the same for every setup'),
    numGpuBlocks: positiveInteger.optional().describe('--compare: KV blocks per simulated pod (8192)'),
    maxNumSeqs: positiveInteger.optional().describe('--compare: requests each pod runs at once (5)'),
    maxModelLen: positiveInteger
      .optional()
      .describe(
        '--compare: longest prompt + output a pod accepts (default: 32768, at most what its KV holds)',
      ),
    prefillTimePerToken: z
      .string()
      .optional()
      .describe('--compare: simulated prefill time per uncached prompt token (0.1ms)'),
    prefillOverhead: z
      .string()
      .optional()
      .describe('--compare: simulated fixed part of the time to first token (10ms)'),
    interTokenLatency: z.string().optional().describe('--compare: simulated time per output token (10ms)'),
    out: z.string().min(1).optional().describe('write every result as JSON to this file'),
    html: z
      .string()
      .min(1)
      .optional()
      .describe('write an HTML report with charts (with --compare and --out: bench-report.html next to it)'),
    seed: z.coerce.number().int().default(0).describe('seed of prompts and arrival gaps'),
  })
  .strict();

export type BenchFlagsInput = z.input<typeof benchFlagsSchema>;
export type BenchFlags = z.output<typeof benchFlagsSchema>;

type FlagName = keyof BenchFlags;

/** Workload flags and the workloads they apply to. */
const workloadFlags: Partial<Record<FlagName, ReadonlyArray<BenchFlags['workload']>>> = {
  api: ['shared-prefix', 'random'],
  numGroups: ['shared-prefix'],
  promptsPerGroup: ['shared-prefix'],
  systemPromptLength: ['shared-prefix', 'multi-turn'],
  questionLength: ['shared-prefix'],
  outputLength: ['shared-prefix', 'multi-turn', 'random'],
  users: ['multi-turn'],
  turns: ['multi-turn'],
  turnLength: ['multi-turn'],
  promptLength: ['random'],
};

/** Flags that set up the local clusters of `--compare`, meaningless against a `--target`. */
const clusterFlags: ReadonlyArray<FlagName> = [
  'timeScale',
  'numGpuBlocks',
  'maxNumSeqs',
  'maxModelLen',
  'prefillTimePerToken',
  'prefillOverhead',
  'interTokenLatency',
];

function kebab(name: string): string {
  return `--${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
}

function badInput(message: string): LlmdError {
  return new LlmdError('invalid_argument', message);
}

/** Flags the parsed object holds but the user did not give are undefined; defaults are not "given". */
function given(flags: BenchFlags, name: FlagName): boolean {
  return flags[name] !== undefined;
}

/** Check combinations the schema cannot express, with messages naming the flags. */
function checkCombinations(flags: BenchFlags, rawFlags: Record<string, unknown>): void {
  if (flags.target === undefined && flags.compare === undefined) {
    throw badInput(
      `give --target URL (a running server) or --compare ${routingSetupNames.join(',')} (local clusters)`,
    );
  }
  if (flags.target !== undefined && flags.compare !== undefined)
    throw badInput('give --target or --compare, not both');
  for (const [name, workloads] of Object.entries(workloadFlags) as Array<
    [FlagName, BenchFlags['workload'][]]
  >) {
    if (given(flags, name) && !workloads.includes(flags.workload)) {
      throw badInput(`${kebab(name)} applies to --workload ${workloads.join(' or ')}, not ${flags.workload}`);
    }
  }
  if (flags.target !== undefined) {
    for (const name of [...clusterFlags, 'replicas', 'blockSize'] as FlagName[]) {
      if (rawFlags[name] !== undefined)
        throw badInput(`${kebab(name)} sets up --compare clusters; it does nothing with --target`);
    }
  }
  const loads = (['rate', 'rates', 'concurrency'] as const).filter((name) => given(flags, name));
  if (loads.length !== 1) throw badInput('give exactly one of --rate, --rates or --concurrency');
  if (flags.duration === undefined && flags.requests === undefined) {
    throw badInput('give --duration (seconds per load level), --requests (per load level) or both');
  }
}

export function workloadInputFrom(flags: BenchFlags): WorkloadInput {
  const common = {
    seed: flags.seed,
    ...(flags.outputLength !== undefined ? { outputLength: flags.outputLength } : {}),
  };
  switch (flags.workload) {
    case 'shared-prefix':
      return {
        type: 'shared-prefix',
        ...common,
        ...(flags.api !== undefined ? { api: flags.api } : {}),
        ...(flags.numGroups !== undefined ? { numGroups: flags.numGroups } : {}),
        ...(flags.promptsPerGroup !== undefined ? { promptsPerGroup: flags.promptsPerGroup } : {}),
        ...(flags.systemPromptLength !== undefined ? { systemPromptLength: flags.systemPromptLength } : {}),
        ...(flags.questionLength !== undefined ? { questionLength: flags.questionLength } : {}),
      };
    case 'multi-turn':
      return {
        type: 'multi-turn',
        ...common,
        ...(flags.users !== undefined ? { users: flags.users } : {}),
        ...(flags.turns !== undefined ? { turns: flags.turns } : {}),
        ...(flags.turnLength !== undefined ? { turnLength: flags.turnLength } : {}),
        ...(flags.systemPromptLength !== undefined ? { systemPromptLength: flags.systemPromptLength } : {}),
      };
    case 'random':
      return {
        type: 'random',
        ...common,
        ...(flags.api !== undefined ? { api: flags.api } : {}),
        ...(flags.promptLength !== undefined ? { promptLength: flags.promptLength } : {}),
      };
  }
}

export function arrivalsInputFrom(flags: BenchFlags): ArrivalsInput {
  const stop = {
    ...(flags.duration !== undefined ? { durationSeconds: flags.duration } : {}),
    ...(flags.requests !== undefined ? { requests: flags.requests } : {}),
  };
  if (flags.concurrency !== undefined)
    return { type: 'concurrency', concurrency: flags.concurrency, ...stop };
  if (flags.rates !== undefined) {
    return {
      type: 'ladder',
      stages: flags.rates.map((rate) => ({ rate, ...stop })),
      distribution: flags.distribution,
      seed: flags.seed,
    };
  }
  return {
    type: 'poisson',
    rate: flags.rate as number,
    ...stop,
    distribution: flags.distribution,
    seed: flags.seed,
  };
}

/** The simulator settings every pod of every `--compare` cluster gets. */
export function simSettingsFrom(flags: BenchFlags): Partial<SimConfigInput> {
  const numGpuBlocks = flags.numGpuBlocks;
  // The simulator refuses a maximum length its KV cannot hold (as vLLM does); follow a smaller KV.
  const maxModelLen =
    flags.maxModelLen ??
    (numGpuBlocks !== undefined ? Math.min(32_768, numGpuBlocks * flags.blockSize) : undefined);
  return {
    blockSize: flags.blockSize,
    ...(flags.timeScale !== undefined ? { timeScale: flags.timeScale } : {}),
    ...(flags.tokenizer ? { tokenizer: flags.tokenizer } : {}),
    ...(numGpuBlocks !== undefined ? { numGpuBlocks } : {}),
    ...(maxModelLen !== undefined ? { maxModelLen } : {}),
    ...(flags.maxNumSeqs !== undefined ? { maxNumSeqs: flags.maxNumSeqs } : {}),
    ...(flags.prefillTimePerToken ? { prefillTimePerToken: flags.prefillTimePerToken } : {}),
    ...(flags.prefillOverhead ? { prefillOverhead: flags.prefillOverhead } : {}),
    ...(flags.interTokenLatency ? { interTokenLatency: flags.interTokenLatency } : {}),
  };
}

const reachabilityTimeoutMilliseconds = 3000;

/**
 * GET `/v1/models` with a short timeout: any HTTP answer counts as reachable. Resolves with the
 * served model ids (empty when the answer had none); an unreachable target is `invalid_argument`.
 */
export async function checkTarget(
  target: string,
  timeoutMilliseconds = reachabilityTimeoutMilliseconds,
): Promise<string[]> {
  let base = target.replace(/\/+$/, '');
  if (base.endsWith('/v1')) base = base.slice(0, -3);
  let response: Response;
  try {
    response = await fetch(`${base}/v1/models`, { signal: AbortSignal.timeout(timeoutMilliseconds) });
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    const reason =
      (error as Error).name === 'TimeoutError'
        ? `no answer within ${timeoutMilliseconds / 1000} s`
        : String(cause?.code ?? cause?.message ?? (error as Error).message);
    throw new LlmdError('invalid_argument', `bench target ${target} is unreachable (${reason})`, {
      cause: error,
    });
  }
  try {
    const body = (await response.json()) as { data?: Array<{ id?: unknown }> };
    return (body.data ?? []).flatMap((entry) => (typeof entry.id === 'string' ? [entry.id] : []));
  } catch {
    return [];
  }
}

export interface BenchCommandContext {
  /** Where the progress bar draws; it draws only on a terminal. Defaults to `process.stderr`. */
  progressStream?: ProgressStream | undefined;
  signal?: AbortSignal | undefined;
  /** Run `--compare` pods in this process (tests). */
  inProcessPods?: boolean | undefined;
  logger?: Logger | undefined;
}

export interface BenchCommandResult {
  entries: NamedBenchResult[];
  /** Set for shared-prefix comparisons. */
  oracle: OracleHitRate | undefined;
}

const defaultModel = 'Qwen/Qwen3-0.6B';
/** The simulator's own defaults, which the oracle needs when the flags leave them unset. */
const simulatorDefaultGpuBlocks = 8192;

function oracleFor(
  flags: BenchFlags,
  workload: WorkloadInput,
  vocabulary: PromptVocabulary,
  entries: readonly NamedBenchResult[],
): OracleHitRate | undefined {
  const first = entries[0];
  if (workload.type !== 'shared-prefix' || first === undefined) return undefined;
  // Every setup gets the same seeded sequence; the longest run says how far to replay it.
  const stepCount = Math.max(...entries.map((entry) => entry.result.steps.length));
  const requestsPerStep = Array.from({ length: stepCount }, (_, index) =>
    Math.max(0, ...entries.map((entry) => entry.result.steps[index]?.requests ?? 0)),
  );
  if (requestsPerStep.length === 0) return undefined;
  return replayOracle(createWorkload(workload, { vocabulary }), {
    pods: flags.replicas,
    blocksPerPod: flags.numGpuBlocks ?? simulatorDefaultGpuBlocks,
    blockSize: flags.blockSize,
    requestsPerStep,
  });
}

/** Without a terminal there is no bar: one line per finished load level shows the run is alive. */
function stepLine(progress: BenchProgress): string {
  return `step ${progress.stepIndex + 1}/${progress.stepCount} (${formatTarget(progress.target)}): ${progress.sent} sent, ${progress.completed} done, ${progress.failed} errors, ${progress.elapsedSeconds.toFixed(1)} s`;
}

function setupDescriptions(setups: ReadonlyArray<RoutingSetup>): string[] {
  const width = Math.max(...setups.map((setup) => setup.name.length));
  return setups.map((setup) => `  ${setup.name.padEnd(width)}  ${setup.description}`);
}

async function writeOutput(path: string, text: string, io: CliIo, what: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  } catch (error) {
    throw new LlmdError('invalid_argument', `cannot write ${what} to ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  io.writeStderr(`llmd bench: wrote ${what} to ${path}\n`);
}

/**
 * `llmd bench` as a function: validate the flags, run against the target or each setup's fresh
 * cluster, print the table (stdout) and write the files. Bad input throws `invalid_argument`
 * before anything starts.
 */
export async function runBenchCommand(
  rawFlags: Record<string, unknown>,
  io: CliIo,
  context: BenchCommandContext = {},
): Promise<BenchCommandResult> {
  const flags = parseFlags(benchFlagsSchema, rawFlags, 'invalid_argument');
  checkCombinations(flags, rawFlags);
  const setups = flags.compare !== undefined ? parseRoutingSetupList(flags.compare) : [];
  const workload = workloadInputFrom(flags);
  const arrivals = arrivalsInputFrom(flags);
  const sim = simSettingsFrom(flags);
  const logger = context.logger ?? noopLogger;
  // Validate workload and arrival settings now, not after a cluster has started.
  createWorkload(workload);
  planArrivals(arrivals);

  const stream = context.progressStream ?? process.stderr;
  const status = (text: string) => io.writeStderr(`llmd bench: ${text}\n`);

  let modelName = flags.model;
  if (flags.target !== undefined) {
    const served = await checkTarget(flags.target);
    modelName ??= served[0] ?? defaultModel;
  }
  modelName ??= defaultModel;

  let vocabulary: PromptVocabulary;
  if (flags.tokenizer) {
    status(`loading tokenizer ${flags.tokenizer}`);
    vocabulary = createPromptVocabulary(await loadTokenizer(flags.tokenizer, { logger }));
  } else {
    vocabulary = createPromptVocabulary();
  }

  let entries: NamedBenchResult[];
  if (flags.target !== undefined) {
    const bar = createProgressBar({ stream });
    status(`${flags.workload} against ${flags.target} (model ${modelName})`);
    let result: BenchResult;
    try {
      result = await runBench({
        baseUrl: flags.target,
        model: modelName,
        workload,
        arrivals,
        vocabulary,
        signal: context.signal,
        onProgress: (progress) => {
          bar.update(progress);
          if (!bar.enabled && progress.stepFinished) status(stepLine(progress));
        },
        logger,
      });
    } finally {
      bar.finish();
    }
    entries = [{ name: flags.target, result }];
    io.writeStdout(formatBenchTable(result));
  } else {
    let bar = createProgressBar({ stream });
    entries = await compareRoutingSetups({
      setups,
      replicas: flags.replicas,
      modelName,
      sim,
      workload,
      arrivals,
      vocabulary,
      inProcessPods: context.inProcessPods,
      signal: context.signal,
      logger,
      onSetupStarting: (setup, index) => {
        bar = createProgressBar({ stream });
        status(
          `[${index + 1}/${setups.length}] ${setup.name}: starting ${flags.replicas} simulated pods, the EPP and the gateway`,
        );
      },
      onProgress: (setup, progress) => {
        bar.update(progress);
        if (!bar.enabled && progress.stepFinished) {
          status(`[${setups.indexOf(setup) + 1}/${setups.length}] ${setup.name}: ${stepLine(progress)}`);
        }
      },
      onSetupFinished: (setup, result) => {
        bar.finish();
        status(
          `[${setups.indexOf(setup) + 1}/${setups.length}] ${setup.name}: done in ${result.durationSeconds.toFixed(1)} s`,
        );
      },
    });
  }

  const oracle = flags.compare !== undefined ? oracleFor(flags, workload, vocabulary, entries) : undefined;
  const targets = entries[0]?.result.steps.map((step) => step.target) ?? [];
  if (flags.compare !== undefined) {
    let text = formatComparisonTable(entries);
    if (oracle) text += `\n${formatOracleSummary(oracle, targets)}`;
    text += `\nsetups (${flags.replicas} pods each, fresh per setup):\n${setupDescriptions(setups).join('\n')}\n`;
    io.writeStdout(text);
  }

  const clusters =
    flags.compare !== undefined
      ? {
          replicas: flags.replicas,
          model: modelName,
          sim,
          setups: setups.map((setup) => ({
            name: setup.name,
            description: setup.description,
            path: setup.path.name,
          })),
          ...(oracle ? { oracleAssumptions } : {}),
        }
      : undefined;
  if (flags.out)
    await writeOutput(flags.out, formatResultsJson(entries, { oracle, clusters }), io, 'results');
  const htmlPath =
    flags.html ??
    (flags.compare !== undefined && flags.out ? join(dirname(flags.out), 'bench-report.html') : undefined);
  if (htmlPath) {
    const html = renderHtmlReport(entries, {
      title:
        flags.compare !== undefined
          ? `llmd bench --compare ${setups.map((setup) => setup.name).join(',')}`
          : `llmd bench ${flags.target}`,
      ...(oracle
        ? {
            oracle: {
              name: 'oracle (best achievable)',
              steps: oracle.steps.map((step) => ({
                target: targets[step.index] as (typeof targets)[number],
                hitRate: step.hitRate,
              })),
            },
          }
        : {}),
      descriptions: [
        ...setups.map((setup) => `${setup.name}: ${setup.description}`),
        ...(flags.compare !== undefined
          ? [`pods per cluster: ${flags.replicas}; simulator settings: ${JSON.stringify(sim)}`]
          : []),
        ...(oracle ? oracleAssumptions.map((line) => `oracle: ${line}`) : []),
      ],
    });
    await writeOutput(htmlPath, html, io, 'HTML report');
  }
  return { entries, oracle };
}

/** `llmd bench`: load a server, or compare routing setups on fresh local clusters. */
export function createBenchCommand(io: CliIo, context: BenchCommandContext = {}): Command {
  const command = new Command('bench').description(
    `Load-test a server (--target) or compare routing setups on local simulated clusters (--compare ${routingSetupNames.join(',')})`,
  );
  for (const option of optionsFromSchema(benchFlagsSchema)) command.addOption(option);
  return command.action(async (rawFlags: Record<string, unknown>) => {
    const controller = new AbortController();
    // Every request in flight listens for the abort; their number is bounded by the load, not by 10.
    setMaxListeners(0, controller.signal);
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      const logger =
        context.logger ??
        pino({ name: 'llmd-bench', level: process.env.LLMD_LOG_LEVEL ?? 'warn' }, pino.destination(2));
      await runBenchCommand(rawFlags, io, {
        ...context,
        logger,
        signal: context.signal ?? controller.signal,
      });
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  });
}
