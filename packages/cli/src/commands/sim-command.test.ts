import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../run-cli.js';
import { createMemoryIo } from '../testing-io.js';
import { spawnCli, waitForExit, waitForOutput } from '../testing-process.js';

const children: ReturnType<typeof spawnCli>[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('llmd sim', () => {
  it('serves the official openai client, then drains and exits 0 on SIGTERM', async () => {
    const child = spawnCli(
      [
        'sim',
        'Qwen/Qwen3-0.6B',
        '--port',
        '0',
        '--mode',
        'echo',
        '--inter-token-latency',
        '1ms',
        '--tensor-parallel-size',
        '1',
        '--enforce-eager',
      ],
      { PYTHONHASHSEED: '42' },
    );
    children.push(child);
    const [, url] = await waitForOutput(child, /serving Qwen\/Qwen3-0\.6B on (http:\/\/\S+)/);
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });

    const chat = await client.chat.completions.create({
      model: 'Qwen/Qwen3-0.6B',
      messages: [{ role: 'user', content: 'hello simulator' }],
    });
    expect(chat.choices[0]?.message.content).toBe('hello simulator');
    let streamed = '';
    for await (const chunk of await client.chat.completions.create({
      model: 'Qwen/Qwen3-0.6B',
      messages: [{ role: 'user', content: 'stream it' }],
      stream: true,
    })) {
      streamed += chunk.choices[0]?.delta.content ?? '';
    }
    expect(streamed).toBe('stream it');
    const completion = await client.completions.create({
      model: 'Qwen/Qwen3-0.6B',
      prompt: 'complete me',
      max_tokens: 5,
    });
    expect(completion.choices[0]?.text).toBe('complete me');
    let streamedCompletion = '';
    for await (const chunk of await client.completions.create({
      model: 'Qwen/Qwen3-0.6B',
      prompt: 'and me',
      stream: true,
    })) {
      streamedCompletion += chunk.choices[0]?.text ?? '';
    }
    expect(streamedCompletion).toBe('and me');

    child.kill('SIGTERM');
    expect(await waitForExit(child)).toBe(0);
  }, 60_000);

  it('rejects bad flags with one line and exit code 2', async () => {
    const io = createMemoryIo();
    expect(await runCli(['sim', '--max-num-seqs', 'many'], io)).toBe(2);
    expect(io.stderr()).toMatch(/^llmd: error: --max-num-seqs: /);
    const unknown = createMemoryIo();
    expect(await runCli(['sim', '--no-such-flag'], unknown)).toBe(2);
    expect(unknown.stderr()).toMatch(/unknown option '--no-such-flag'/);
    const badJson = createMemoryIo();
    expect(await runCli(['sim', '--kv-events-config', '{nope'], badJson)).toBe(2);
    expect(badJson.stderr()).toMatch(/--kv-events-config/);
  });
});
