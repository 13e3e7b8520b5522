import type { BenchProgress } from './bench-runner.js';
import { formatTarget } from './named-result.js';

/** The part of a `tty.WriteStream` the bar uses; `process.stderr` fits. */
export interface ProgressStream {
  write(text: string): unknown;
  /** The bar draws only on a terminal: redirected output gets no carriage-return noise. */
  isTTY?: boolean | undefined;
  columns?: number | undefined;
}

export interface ProgressBarOptions {
  stream: ProgressStream;
  /** Cells of the bar itself. Defaults to 24. */
  barWidth?: number;
  /** Redraw at most this often, except for the first and last report of a step. Defaults to 100. */
  minimumIntervalMilliseconds?: number;
  /** The clock used for throttling (milliseconds). Defaults to `performance.now`. */
  now?: () => number;
}

export interface ProgressBar {
  /** False when the stream is not a terminal: every method does nothing. */
  readonly enabled: boolean;
  /** Pass as `runBench`'s `onProgress`. */
  update(progress: BenchProgress): void;
  /** End the line if one is open. */
  finish(): void;
}

const clearToEndOfLine = '\u001b[K';

/** How far the step is: by requests or by time, whichever limit is closer to being reached. */
function fraction(progress: BenchProgress): number {
  if (progress.stepFinished) return 1;
  const byRequests = progress.plannedRequests ? progress.sent / progress.plannedRequests : 0;
  const bySeconds = progress.plannedSeconds ? progress.elapsedSeconds / progress.plannedSeconds : 0;
  return Math.min(1, Math.max(byRequests, bySeconds));
}

/** One status line: `step 1/3  10 req/s  [#####-----]  45%  54 sent  50 done  2 errors  4 in flight  12.3s`. */
export function formatProgressLine(progress: BenchProgress, barWidth = 24): string {
  const done = fraction(progress);
  const filled = Math.round(done * barWidth);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`;
  const sent =
    progress.plannedRequests === undefined
      ? `${progress.sent}`
      : `${progress.sent}/${progress.plannedRequests}`;
  return [
    `step ${progress.stepIndex + 1}/${progress.stepCount}`,
    formatTarget(progress.target),
    bar,
    `${Math.floor(done * 100)}%`.padStart(4),
    `${sent} sent`,
    `${progress.completed} done`,
    `${progress.failed} errors`,
    `${progress.inFlight} in flight`,
    `${progress.elapsedSeconds.toFixed(1)}s`,
  ].join('  ');
}

/** A single redrawn status line per step; each step's final line stays on screen. */
export function createProgressBar(options: ProgressBarOptions): ProgressBar {
  const { stream } = options;
  const enabled = stream.isTTY === true;
  const barWidth = options.barWidth ?? 24;
  const interval = options.minimumIntervalMilliseconds ?? 100;
  const now = options.now ?? (() => performance.now());
  let lineOpen = false;
  let lastDrawnAt = Number.NEGATIVE_INFINITY;
  let lastStep = -1;
  let finishedStep = -1;

  return {
    enabled,
    update(progress) {
      // A late report of a step whose final line is drawn would start a stray line.
      if (!enabled || progress.stepIndex === finishedStep) return;
      const time = now();
      const newStep = progress.stepIndex !== lastStep;
      if (!newStep && !progress.stepFinished && time - lastDrawnAt < interval) return;
      lastStep = progress.stepIndex;
      lastDrawnAt = time;
      let line = formatProgressLine(progress, barWidth);
      if (stream.columns !== undefined && stream.columns > 1) line = line.slice(0, stream.columns - 1);
      stream.write(`\r${line}${clearToEndOfLine}${progress.stepFinished ? '\n' : ''}`);
      lineOpen = !progress.stepFinished;
      if (progress.stepFinished) finishedStep = progress.stepIndex;
    },
    finish() {
      if (!enabled || !lineOpen) return;
      stream.write('\n');
      lineOpen = false;
    },
  };
}
