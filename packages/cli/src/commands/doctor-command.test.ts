import { createServer } from 'node:net';
import { startSimServer } from '@llmd/sim';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../run-cli.js';
import { createMemoryIo } from '../testing-io.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** `llmd doctor <argv>` through the real CLI entry (exit codes: bad input 2, a failed check 1). */
async function doctor(argv: string[]) {
  const io = createMemoryIo();
  const exitCode = await runCli(['doctor', ...argv], io);
  return { exitCode, stdout: io.stdout(), stderr: io.stderr() };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('llmd doctor', () => {
  it('exits 0 and prints one line per finding for a healthy pod', async () => {
    const sim = await startSimServer({ port: 0, model: 'm', timeScale: 100 });
    closers.push(() => sim.close(0));
    const key = new URL(sim.url).host;
    const result = await doctor(['--endpoints', key, '--listen-seconds', '0']);
    expect(result).toEqual({
      exitCode: 0,
      stdout: [
        `ok    endpoints: ${key} is up and serves "m"`,
        `ok    metric-names: ${key} exposes every metric the EPP reads for vllm (block size 16, 8192 blocks)`,
        'doctor: 2 checks ok, 0 warnings, 0 failures: all good',
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  it('exits 1 when a check fails, and --json prints the report', async () => {
    const sim = await startSimServer({ port: 0, model: 'm', timeScale: 100 });
    closers.push(() => sim.close(0));
    const up = new URL(sim.url).host;
    const down = `127.0.0.1:${await freePort()}`;
    const text = await doctor(['--endpoints', `${up},${down}`, '--listen-seconds', '0']);
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toContain(
      `fail  endpoints: ${down} is unreachable: connection refused (nothing listens on that port)\n`,
    );
    expect(text.stdout).toMatch(/doctor: 2 checks ok, 0 warnings, 1 failure: 1 problem found\n$/);
    expect(text.stderr).toBe('llmd: error: 1 check failed: the setup has a problem (see above)\n');

    const json = await doctor(['--endpoints', up, '--endpoints', down, '--listen-seconds', '0', '--json']);
    expect(json.exitCode).toBe(1);
    const report = JSON.parse(json.stdout) as { counts: unknown; findings: Array<{ subject: string }> };
    expect(report.counts).toEqual({ ok: 2, warn: 0, fail: 1 });
    expect(report.findings.map((item) => item.subject)).toEqual([up, down, up]);
  });

  it('exits 2 with one line naming the flag for input it cannot use', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /^llmd: error: --endpoints: nothing to check: give endpoints/],
      [['--endpoints', 'nonsense'], /^llmd: error: --endpoints: "nonsense" is not ip:port\n$/],
      [
        ['--kv-events', '10.0.0.1:8000'],
        /^llmd: error: --kv-events: "10.0.0.1:8000" is not ip:port=tcp:\/\/host:port/,
      ],
      [['--kv-events', '10.0.0.1:8000=tcp://*:5557'], /--kv-events: "tcp:\/\/\*:5557" is a bind address/],
      [
        ['--index-url', 'index:8080'],
        /^llmd: error: --index-url: "index:8080" is not an http:\/\/ or https:\/\/ URL/,
      ],
      [['--endpoints', '10.0.0.1:8000', '--block-size', 'big'], /^llmd: error: --block-size: /],
      [['--endpoints', '10.0.0.1:8000', '--listen-seconds', '-1'], /^llmd: error: --listen-seconds: /],
      [['--endpoints', '10.0.0.1:8000', '--engine-type', 'tgi'], /--engine-type: unknown engine type "tgi"/],
      [['--endpoints', '10.0.0.1:8000', '--hash-algo', 'md5'], /--hash-algo/],
    ];
    for (const [argv, message] of cases) {
      const result = await doctor(argv);
      expect({ argv, exitCode: result.exitCode }).toEqual({ argv, exitCode: 2 });
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
  });
});
