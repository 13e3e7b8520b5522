import { performance } from 'node:perf_hooks';
import { type Logger, noopLogger, parseWithSchema, type Tokenizer } from '@llmd/core';
import { z } from 'zod';
import {
  type ArrivalStage,
  type ArrivalsInput,
  arrivalsSchema,
  type BenchTarget,
  planArrivals,
} from './arrivals.js';
import type { BenchResult, BenchStepResult } from './bench-result.js';
import type { PromptVocabulary } from './prompt-vocabulary.js';
import { StepStatistics } from './step-statistics.js';
import { sendStreamingRequest } from './streaming-client.js';
import type { BenchRequest, Workload } from './workload.js';
import { createWorkload, type WorkloadInput } from './workloads.js';

/** A snapshot of the running step, for progress displays. */
export interface BenchProgress {
  stepIndex: number;
  stepCount: number;
  target: BenchTarget;
  sent: number;
  completed: number;
  failed: number;
  inFlight: number;
  elapsedSeconds: number;
  /** The step's request count limit, if it has one. */
  plannedRequests: number | undefined;
  /** The step's sending duration, if it has one. */
  plannedSeconds: number | undefined;
  /** The last report of the step. */
  stepFinished: boolean;
}

export interface RunBenchOptions {
  /** The server, gateway or router to load, such as `http://127.0.0.1:8000`. */
  baseUrl: string;
  /** The `model` field of every request. */
  model: string;
  /** Workload settings (built with `tokenizer`), or a workload built earlier. */
  workload: WorkloadInput | Workload;
  arrivals: ArrivalsInput;
  /** Makes prompt lengths exact token counts of this tokenizer; without it they are words. */
  tokenizer?: Tokenizer | undefined;
  /**
   * Words built earlier with `createPromptVocabulary` (wins over `tokenizer`): building them from a
   * large tokenizer takes a moment, worth doing once when comparing several setups.
   */
  vocabulary?: PromptVocabulary | undefined;
  /** Called on every send and completion and every `progressIntervalMilliseconds`. */
  onProgress?: ((progress: BenchProgress) => void) | undefined;
  /** Aborting stops sending, cancels requests in flight and returns the partial result. */
  signal?: AbortSignal | undefined;
  /** Per-request timeout; defaults to 300,000. */
  requestTimeoutMilliseconds?: number | undefined;
  /** Headers added to every request. */
  headers?: Readonly<Record<string, string>> | undefined;
  /** Send `ignore_eos: true` so outputs have exactly the requested length. Defaults to true. */
  ignoreEos?: boolean | undefined;
  /** Arrivals waiting for a free multi-turn user, at most; more are counted as unsent. Defaults to 10,000. */
  maximumPendingArrivals?: number | undefined;
  /** Defaults to 250. */
  progressIntervalMilliseconds?: number | undefined;
  logger?: Logger | undefined;
}

const runOptionsSchema = z.object({
  baseUrl: z.url({ protocol: /^https?$/ }),
  model: z.string().min(1),
  requestTimeoutMilliseconds: z.number().positive().optional(),
  maximumPendingArrivals: z.number().int().positive().optional(),
  progressIntervalMilliseconds: z.number().positive().optional(),
});

function isWorkload(value: WorkloadInput | Workload): value is Workload {
  return typeof (value as Workload).next === 'function';
}

/**
 * Resolve at `time` (a `performance.now()` value; `Infinity` for never), when `signal` aborts or
 * when `until` settles, whichever comes first.
 */
function sleepUntil(time: number, signal: AbortSignal | undefined, until?: Promise<void>): Promise<void> {
  const delay = time - performance.now();
  if (delay <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    // Timers run on the event loop's cached millisecond clock and can fire up to a millisecond before
    // `time` by `performance.now()`: wait out the rest, so a step never ends before its duration.
    const arm = () => {
      const remaining = time - performance.now();
      if (remaining <= 0) {
        done();
        return;
      }
      // setTimeout fires at once for delays beyond 2^31 - 1 ms.
      timer = setTimeout(arm, Math.min(Math.max(remaining, 1), 2 ** 31 - 1));
    };
    // An endless wait sets no timer.
    if (Number.isFinite(delay)) arm();
    signal?.addEventListener('abort', done, { once: true });
    void until?.then(done);
  });
}

interface StepContext {
  options: RunBenchOptions;
  workload: Workload;
  stepCount: number;
  logger: Logger;
}

function notify(context: StepContext, progress: BenchProgress): void {
  try {
    context.options.onProgress?.(progress);
  } catch (error) {
    // A display bug must not stop the measurement.
    context.logger.warn({ error: String(error) }, 'bench progress callback failed');
  }
}

/**
 * Run one step: send arrivals as they come (rate) or as requests finish (concurrency) until the
 * duration or request count is reached, then wait for the requests in flight.
 *
 * Arrivals are tickets matched with requests: when the workload has nothing ready (every
 * multi-turn user is waiting for its previous turn) a ticket waits for the next completion, so a
 * user's turns stay in order while other users' requests go out on time.
 */
function runStep(stage: ArrivalStage, context: StepContext): Promise<BenchStepResult> {
  const { options, workload } = context;
  const signal = options.signal;
  const maximumPendingArrivals = options.maximumPendingArrivals ?? 10_000;
  const statistics = new StepStatistics(stage.index, stage.target);
  const startedAt = performance.now();
  const deadline =
    stage.durationMilliseconds === undefined
      ? Number.POSITIVE_INFINITY
      : startedAt + stage.durationMilliseconds;
  let issued = 0;
  let pendingArrivals = 0;
  let inFlight = 0;
  let issuing = true;
  let finished = false;
  let resolveDrained: () => void = () => {};
  const drained = new Promise<void>((resolve) => {
    resolveDrained = resolve;
  });

  const report = (stepFinished: boolean) =>
    notify(context, {
      stepIndex: stage.index,
      stepCount: context.stepCount,
      target: stage.target,
      sent: statistics.requests,
      completed: statistics.completed,
      failed: statistics.failed,
      inFlight,
      elapsedSeconds: (performance.now() - startedAt) / 1000,
      plannedRequests: stage.requests,
      plannedSeconds:
        stage.durationMilliseconds === undefined ? undefined : stage.durationMilliseconds / 1000,
      stepFinished,
    });

  const canIssue = () =>
    issuing &&
    !signal?.aborted &&
    (stage.requests === undefined || issued < stage.requests) &&
    performance.now() < deadline;

  const issueArrival = () => {
    issued++;
    if (pendingArrivals >= maximumPendingArrivals) statistics.unsentArrivals++;
    else pendingArrivals++;
  };

  const stopIssuing = (dropPending: boolean) => {
    issuing = false;
    if (dropPending) {
      statistics.unsentArrivals += pendingArrivals;
      pendingArrivals = 0;
    }
    pump();
  };

  const dispatch = (request: BenchRequest) => {
    statistics.requests++;
    inFlight++;
    void sendStreamingRequest({
      baseUrl: options.baseUrl,
      model: options.model,
      request,
      timeoutMilliseconds: options.requestTimeoutMilliseconds,
      signal,
      headers: options.headers,
      ignoreEos: options.ignoreEos,
    }).then((outcome) => {
      inFlight--;
      try {
        workload.complete(request, {
          ok: outcome.ok,
          text: outcome.text,
          outputTokens: outcome.outputTokens,
        });
      } catch (error) {
        context.logger.warn(
          { error: String(error), requestId: request.id },
          'workload failed to record a completion',
        );
      }
      statistics.record(request, outcome);
      if (stage.kind === 'concurrency' && issuing) {
        if (canIssue()) issueArrival();
        if (requestLimitReached()) issuing = false;
      }
      pump();
    });
  };

  function pump(): void {
    if (finished) return;
    while (pendingArrivals > 0 && !signal?.aborted) {
      const request = workload.next();
      if (request === undefined) break;
      pendingArrivals--;
      dispatch(request);
    }
    if (signal?.aborted) {
      statistics.unsentArrivals += pendingArrivals;
      pendingArrivals = 0;
    }
    if (!issuing && inFlight === 0) {
      // Nothing in flight can free a blocked workload any more.
      statistics.unsentArrivals += pendingArrivals;
      pendingArrivals = 0;
      finished = true;
      report(true);
      resolveDrained();
      return;
    }
    report(false);
  }

  const ticker = setInterval(() => report(false), options.progressIntervalMilliseconds ?? 250);
  ticker.unref();

  const requestLimitReached = () => stage.requests !== undefined && issued >= stage.requests;

  const sendArrivals = async () => {
    if (stage.kind === 'concurrency') {
      // Closed loop: completions issue the next arrivals (see dispatch) until a limit is reached.
      const initial = Math.min(stage.concurrency, stage.requests ?? stage.concurrency);
      for (let index = 0; index < initial; index++) issueArrival();
      if (requestLimitReached()) issuing = false;
      pump();
      if (!issuing) return;
      await sleepUntil(deadline, signal, drained);
      if (!finished) stopIssuing(true);
      return;
    }
    const nextGap = stage.gaps();
    let nextArrivalAt = startedAt;
    for (;;) {
      nextArrivalAt += nextGap();
      if (nextArrivalAt >= deadline) {
        // The step lasts its whole duration even when the next arrival would come after it.
        await sleepUntil(deadline, signal);
        stopIssuing(true);
        return;
      }
      await sleepUntil(nextArrivalAt, signal);
      if (signal?.aborted) {
        stopIssuing(true);
        return;
      }
      issueArrival();
      pump();
      if (requestLimitReached()) {
        // Waiting arrivals still go out when their users become free.
        stopIssuing(false);
        return;
      }
    }
  };

  return sendArrivals()
    .then(async () => {
      await drained;
      return statistics.result((performance.now() - startedAt) / 1000);
    })
    .finally(() => clearInterval(ticker));
}

/**
 * Load `baseUrl` with `workload` on the `arrivals` schedule and measure every step. Invalid
 * options fail with `invalid_argument` naming the field; request failures never throw, they are
 * counted by status in the result.
 */
export async function runBench(options: RunBenchOptions): Promise<BenchResult> {
  parseWithSchema(runOptionsSchema, options, 'invalid_argument', 'bench options');
  const arrivals = parseWithSchema(arrivalsSchema, options.arrivals, 'invalid_argument', 'arrivals');
  const stages = planArrivals(arrivals);
  const workload = isWorkload(options.workload)
    ? options.workload
    : createWorkload(options.workload, { tokenizer: options.tokenizer, vocabulary: options.vocabulary });
  const logger = options.logger ?? noopLogger;
  const context: StepContext = { options, workload, stepCount: stages.length, logger };
  const startedAt = new Date();
  const runStartedAt = performance.now();
  const steps: BenchStepResult[] = [];
  for (const stage of stages) {
    if (options.signal?.aborted) break;
    logger.debug({ step: stage.index, target: stage.target }, 'bench step starting');
    const step = await runStep(stage, context);
    steps.push(step);
    logger.info(
      {
        step: stage.index,
        target: stage.target,
        requests: step.requests,
        failed: step.failed,
        durationSeconds: step.durationSeconds,
      },
      'bench step finished',
    );
  }
  return {
    baseUrl: options.baseUrl,
    model: options.model,
    workload: workload.description,
    arrivals,
    unit: workload.unit,
    startedAt: startedAt.toISOString(),
    durationSeconds: (performance.now() - runStartedAt) / 1000,
    aborted: options.signal?.aborted === true,
    steps,
  };
}
