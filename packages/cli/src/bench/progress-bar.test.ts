import { describe, expect, it } from 'vitest';
import type { BenchProgress } from './bench-runner.js';
import { createProgressBar, formatProgressLine } from './progress-bar.js';

function progress(overrides: Partial<BenchProgress> = {}): BenchProgress {
  return {
    stepIndex: 0,
    stepCount: 2,
    target: { type: 'rate', rate: 10 },
    sent: 5,
    completed: 3,
    failed: 1,
    inFlight: 1,
    elapsedSeconds: 1.5,
    plannedRequests: 20,
    plannedSeconds: undefined,
    stepFinished: false,
    ...overrides,
  };
}

function recordingStream(isTTY: boolean, columns?: number) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns, write: (text: string) => writes.push(text) } };
}

describe('formatProgressLine', () => {
  it('shows the step, load, bar, counts and elapsed time', () => {
    expect(formatProgressLine(progress(), 8)).toBe(
      'step 1/2  10 req/s  [##------]   25%  5/20 sent  3 done  1 errors  1 in flight  1.5s',
    );
  });

  it('measures duration-bound steps by time and shows 100% when finished', () => {
    const byTime = progress({ plannedRequests: undefined, plannedSeconds: 5, elapsedSeconds: 2.5, sent: 7 });
    expect(formatProgressLine(byTime, 4)).toContain('[##--]   50%  7 sent');
    expect(formatProgressLine(progress({ stepFinished: true }), 4)).toContain('[####]  100%');
    expect(formatProgressLine(progress({ target: { type: 'concurrency', concurrency: 4 } }), 4)).toContain(
      '4 concurrent',
    );
  });
});

describe('createProgressBar', () => {
  it('writes nothing when the stream is not a terminal', () => {
    const { writes, stream } = recordingStream(false);
    const bar = createProgressBar({ stream });
    bar.update(progress());
    bar.finish();
    expect(bar.enabled).toBe(false);
    expect(writes).toEqual([]);
  });

  it('redraws one line, throttled, and keeps each step’s final line', () => {
    const { writes, stream } = recordingStream(true);
    let time = 0;
    const bar = createProgressBar({ stream, barWidth: 4, minimumIntervalMilliseconds: 100, now: () => time });
    bar.update(progress({ sent: 1 }));
    time = 50;
    bar.update(progress({ sent: 2 }));
    time = 150;
    bar.update(progress({ sent: 3 }));
    bar.update(progress({ sent: 20, stepFinished: true }));
    bar.update(progress({ sent: 20 }));
    bar.update(progress({ stepIndex: 1, sent: 1 }));
    bar.finish();
    bar.finish();
    expect(writes.map((text) => text.match(/(\d+)\/20 sent/)?.[1] ?? text)).toEqual([
      '1',
      '3',
      '20',
      '1',
      '\n',
    ]);
    for (const text of writes.slice(0, 4)) expect(text.startsWith('\r')).toBe(true);
    expect(writes[2]?.endsWith('\u001b[K\n')).toBe(true);
    expect(writes[2]).toContain('step 1/2');
    expect(writes[3]).toContain('step 2/2');
  });

  it('fits the line into the terminal width', () => {
    const { writes, stream } = recordingStream(true, 21);
    createProgressBar({ stream }).update(progress());
    expect(writes[0]).toBe('\rstep 1/2  10 req/s  \u001b[K');
  });
});
