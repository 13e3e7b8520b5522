import { findSharedFolder, readVllmKvEventFixture, sharedFixturesMissingMessage } from '@llmd/core/testing';
import { describe, expect, it } from 'vitest';
import { runCli } from '../run-cli.js';
import { createMemoryIo } from '../testing-io.js';

const oneTo = (count: number) => Array.from({ length: count }, (_, index) => index + 1);

async function run(argv: string[], stdin = '') {
  const io = createMemoryIo(stdin);
  const exitCode = await runCli(argv, io);
  return { exitCode, stdout: io.stdout(), stderr: io.stderr() };
}

describe('llmd hash', () => {
  it('prints one decimal value per full block', async () => {
    const result = await run(
      ['hash', '--algo', 'sha256_cbor', '--block-size', '16', '--seed', '0'],
      JSON.stringify(oneTo(40)),
    );
    expect(result).toEqual({ exitCode: 0, stdout: '3236607068019569386\n2758186210834249151\n', stderr: '' });
  });

  it('prints a JSON array of strings with --json', async () => {
    const result = await run(
      ['hash', '--algo', 'cbor-fnv', '--block-size', '16', '--model', 'test-model', '--json'],
      JSON.stringify(oneTo(32)),
    );
    expect(JSON.parse(result.stdout)).toEqual(['9540012594951042066', '16921089685996993662']);
  });

  it('passes --lora and --cache-salt into vLLM hashes', async () => {
    const result = await run(
      [
        'hash',
        '--algo',
        'sha256_cbor',
        '--block-size',
        '16',
        '--seed',
        '0',
        '--lora',
        'my-lora',
        '--cache-salt',
        'salt-1',
      ],
      JSON.stringify(oneTo(32)),
    );
    expect(result.stdout).toBe('2808286155839804696\n1656328069003195154\n');
  });

  it.each([
    [
      ['--algo', 'md5', '--block-size', '16'],
      '[1]',
      /llmd: error: option '--algo <algorithm>' argument 'md5' is invalid/,
    ],
    [['--algo', 'cbor-fnv', '--block-size', '0'], '[1]', /llmd: error: --block-size: /],
    [['--algo', 'cbor-fnv', '--block-size', '2.5'], '[1]', /llmd: error: --block-size: /],
    [['--algo', 'cbor-fnv', '--block-size', '2'], '[1, -3]', /llmd: error: token id at index 1 is -3/],
    [['--algo', 'cbor-fnv', '--block-size', '2'], '[1, 0.5]', /token id at index 1 is 0.5/],
    [['--algo', 'cbor-fnv', '--block-size', '2'], '[4294967296]', /token id at index 0 is 4294967296/],
    [['--algo', 'cbor-fnv', '--block-size', '2'], '{"a":1}', /stdin must be a JSON array/],
    [['--algo', 'cbor-fnv', '--block-size', '2'], '[1,', /stdin is not JSON/],
    [['--algo', 'sha256_cbor', '--block-size', '16'], '[1]', /PYTHONHASHSEED/],
    [['--block-size', '16'], '[1]', /required option '--algo <algorithm>' not specified/],
  ])('exits 2 with one line for %j on %j', async (flags, stdin, message) => {
    const result = await run(['hash', ...flags], stdin);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('adds the stack trace only with --debug', async () => {
    const result = await run(['--debug', 'hash', '--algo', 'cbor-fnv', '--block-size', '2'], '[-1]');
    expect(result.exitCode).toBe(2);
    expect(result.stderr.split('\n').length).toBeGreaterThan(2);
    expect(result.stderr).toMatch(/\n\s+at /);
  });

  it('prints help and version with exit code 0', async () => {
    const help = await run(['hash', '--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/--block-size <tokens>/);
    const version = await run(['--version']);
    expect(version.exitCode).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });
});

const shared = findSharedFolder();

describe.skipIf(!shared)(
  `llmd hash on the real vLLM capture (${shared ? '../shared' : sharedFixturesMissingMessage})`,
  () => {
    it.each([
      ['kv_event_base.json', []],
      ['kv_event_lora.json', ['--lora', 'Alice']],
    ])('%s: prints the 25 captured hashes', async (fileName, extraFlags) => {
      const fixture = readVllmKvEventFixture(shared as string, fileName);
      const result = await run(
        ['hash', '--algo', 'sha256_cbor', '--block-size', '16', '--seed', '42', ...extraFlags],
        JSON.stringify(fixture.token_ids),
      );
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toBe(fixture.block_hashes.map((value) => `${value}\n`).join(''));
    });
  },
);

describe('llmd usage errors', () => {
  it('answers a missing or unknown command in one line with exit 2', async () => {
    for (const argv of [[], ['hahs']]) {
      const io = createMemoryIo();
      expect(await runCli(argv, io)).toBe(2);
      expect(io.stderr().trimEnd().split('\n')).toHaveLength(1);
      expect(io.stderr()).toMatch(/^llmd: error: /);
    }
  });
});
