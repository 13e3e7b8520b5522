import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LlmdError } from '@llmd/core';
import { type SimServer, startSimServer } from '@llmd/sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchResultsDocument } from '../bench/results-json.js';
import { runCli } from '../run-cli.js';
import { createMemoryIo } from '../testing-io.js';
import { runBenchCommand } from './bench-command.js';

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The invalid_argument error `promise` rejects with (the CLI prints its message as one line and exits 2). */
async function badInput(promise: Promise<unknown>): Promise<LlmdError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the command to fail');
    },
    (reason: unknown) => reason,
  );
  expect(LlmdError.isInstance(error)).toBe(true);
  expect((error as LlmdError).code).toBe('invalid_argument');
  expect((error as LlmdError).message).not.toContain('\n');
  return error as LlmdError;
}

describe('llmd bench --compare', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'llmd-bench-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('runs round-robin and precise on fresh clusters side by side; precise has the lower TTFT p90', async () => {
    // Two groups whose 1000-word system prompts take 1 s (model time) to prefill uncached, on two
    // pods that each hold one group's prefix: round-robin sends every group to both pods and keeps
    // evicting, precise keeps each group on the pod holding it. After the two cold starts nearly
    // every precise request is a prefix hit, so its p90 is a hit while round-robin's is a miss
    // (measured: about 9 ms against 80 ms of wall-clock time).
    const io = createMemoryIo();
    const out = join(directory, 'results.json');
    const { entries, oracle } = await runBenchCommand(
      {
        compare: 'round-robin,precise',
        workload: 'shared-prefix',
        numGroups: '2',
        promptsPerGroup: '10',
        systemPromptLength: '1000',
        questionLength: '20',
        outputLength: '2',
        replicas: '2',
        blockSize: '16',
        numGpuBlocks: '100',
        prefillTimePerToken: '1ms',
        timeScale: '10',
        rate: '10',
        requests: '100',
        seed: '7',
        out,
      },
      io,
      { inProcessPods: true },
    );

    expect(entries.map((entry) => entry.name)).toEqual(['round-robin', 'precise']);
    const [roundRobin, precise] = entries.map((entry) => entry.result.steps[0]);
    expect(roundRobin?.completed).toBe(100);
    expect(precise?.completed).toBe(100);
    const p90 = (step: typeof precise) => step?.timeToFirstTokenMilliseconds.p90 ?? Number.NaN;
    expect(p90(precise)).toBeLessThan(p90(roundRobin));
    expect(precise?.cacheHitRate ?? 0).toBeGreaterThan(roundRobin?.cacheHitRate ?? 1);

    const stdout = io.stdout();
    expect(stdout).toMatch(/^setup\s+load\s+requests/);
    expect(stdout).toMatch(/^round-robin\s+10 req\/s\s+100\s+0\s/m);
    expect(stdout).toMatch(/^precise\s+10 req\/s\s+100\s+0\s/m);
    expect(stdout).toContain('best achievable cache hit (oracle');
    expect(oracle?.steps).toHaveLength(1);
    // Precise routing gets close to what an oracle that knows every cache gets.
    expect(precise?.cacheHitRate ?? 0).toBeLessThanOrEqual((oracle?.hitRate ?? 0) + 0.01);

    const document = JSON.parse(await readFile(out, 'utf8')) as BenchResultsDocument;
    expect(document.results.map((entry) => entry.name)).toEqual(['round-robin', 'precise']);
    expect(document.oracle?.hitRate).toBe(oracle?.hitRate);
    expect(document.clusters).toMatchObject({
      replicas: 2,
      sim: { blockSize: 16, numGpuBlocks: 100, maxModelLen: 1600 },
    });
    // With --compare and --out, the HTML report goes next to the results.
    const html = await readFile(join(directory, 'bench-report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('oracle (best achievable)');
    expect(io.stderr()).toContain(`wrote results to ${out}`);
  }, 120_000);

  it('refuses an unknown setup before starting anything, listing the valid ones', async () => {
    const io = createMemoryIo();
    const error = await badInput(
      runBenchCommand({ compare: 'round-robin,fastest', rate: '1', requests: '1' }, io, {
        inProcessPods: true,
      }),
    );
    expect(error.message).toBe(
      '--compare: unknown routing setup "fastest" (available: random, round-robin, load, approximate, precise)',
    );
    expect(io.stderr()).not.toContain('starting');
  });

  it('names the flags of impossible combinations', async () => {
    const io = createMemoryIo();
    expect((await badInput(runBenchCommand({ compare: 'precise', requests: '1' }, io))).message).toBe(
      'give exactly one of --rate, --rates or --concurrency',
    );
    expect((await badInput(runBenchCommand({ compare: 'precise', rate: '1' }, io))).message).toMatch(
      /--duration/,
    );
    expect(
      (await badInput(runBenchCommand({ compare: 'precise', rate: '1', requests: '1', users: '3' }, io)))
        .message,
    ).toBe('--users applies to --workload multi-turn, not shared-prefix');
    expect((await badInput(runBenchCommand({ rate: '1', requests: '1' }, io))).message).toMatch(
      /^give --target URL/,
    );
    expect(
      (await badInput(runBenchCommand({ compare: 'precise', rates: '3,x', requests: '1' }, io))).message,
    ).toMatch(/^--rates: /);
    expect(
      (
        await badInput(
          runBenchCommand({ target: 'http://127.0.0.1:1', timeScale: '2', rate: '1', requests: '1' }, io),
        )
      ).message,
    ).toBe('--time-scale sets up --compare clusters; it does nothing with --target');
  });
});

describe('llmd bench --target', () => {
  let sim: SimServer;
  beforeAll(async () => {
    sim = await startSimServer({ port: 0, model: 'bench-target-model', timeScale: 1000 });
  });
  afterAll(async () => {
    await sim.close(100);
  });

  it('loads a running server with the model it serves and prints the summary', async () => {
    const io = createMemoryIo();
    const { entries } = await runBenchCommand(
      {
        target: sim.url,
        workload: 'random',
        promptLength: '20-40',
        outputLength: '3',
        concurrency: '4',
        requests: '12',
      },
      io,
    );
    expect(entries).toHaveLength(1);
    expect(entries[0]?.result).toMatchObject({ model: 'bench-target-model', baseUrl: sim.url });
    expect(entries[0]?.result.steps[0]).toMatchObject({ requests: 12, completed: 12, failed: 0 });
    expect(io.stdout()).toMatch(/^load\s+requests/);
    expect(io.stdout()).toMatch(/^4 concurrent\s+12\s+0\s/m);
  });

  it('fails with one clear line and exit code 2 when the target is unreachable', async () => {
    const port = await closedPort();
    const io = createMemoryIo();
    const exitCode = await runCli(
      ['bench', '--target', `http://127.0.0.1:${port}`, '--rate', '1', '--requests', '1'],
      io,
    );
    expect(exitCode).toBe(2);
    expect(io.stderr()).toBe(
      `llmd: error: bench target http://127.0.0.1:${port} is unreachable (ECONNREFUSED)\n`,
    );
    // Nothing was sent: the reachability check comes first.
    expect(io.stdout()).toBe('');
  });
});
