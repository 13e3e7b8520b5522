import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnCli, waitForExit, waitForOutput } from '../testing-process.js';

const children: Array<ReturnType<typeof spawnCli>> = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null) {
      child.kill('SIGINT');
      await waitForExit(child);
    }
  }
});

async function up(argv: string[]): Promise<{ child: ReturnType<typeof spawnCli>; baseUrl: string }> {
  const child = spawnCli(['up', ...argv, '--port', '0', '--replicas', '2', '--time-scale', '50']);
  children.push(child);
  const match = await waitForOutput(child, /gateway\s+(http:\/\/127\.0\.0\.1:\d+)\/v1/, 60_000);
  return { child, baseUrl: `${match[1]}/v1` };
}

describe('llmd up', () => {
  it('brings up optimized-baseline; the official openai client streams a chat completion; Ctrl-C stops everything', async () => {
    const { child, baseUrl } = await up(['optimized-baseline']);
    const client = new OpenAI({ baseURL: baseUrl, apiKey: 'unused', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'Qwen/Qwen3-0.6B',
      messages: [{ role: 'user', content: 'Hello!' }],
      max_tokens: 8,
      stream: true,
    });
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(chunks).toBeGreaterThan(1);
    expect(text.length).toBeGreaterThan(0);
    child.kill('SIGINT');
    expect(await waitForExit(child)).toBe(0);
    await expect(fetch(`${baseUrl}/models`)).rejects.toThrow();
  }, 90_000);

  it('precise-prefix-cache-routing sends a repeated long prompt to the pod that holds it', async () => {
    const { baseUrl } = await up(['precise-prefix-cache-routing']);
    const client = new OpenAI({ baseURL: baseUrl, apiKey: 'unused', maxRetries: 0 });
    const messages = [
      {
        role: 'system' as const,
        content: 'You review Kubernetes manifests for security problems, one finding per line. '.repeat(60),
      },
      { role: 'user' as const, content: 'Review this Deployment.' },
    ];
    const first = await client.chat.completions.create({ model: 'Qwen/Qwen3-0.6B', messages, max_tokens: 2 });
    expect(first.usage?.prompt_tokens_details?.cached_tokens ?? 0).toBe(0);
    // Let the pod's KV events reach the index, then repeat: the index routes to the pod holding the blocks.
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let repeat = 0; repeat < 3; repeat++) {
      const again = await client.chat.completions.create({
        model: 'Qwen/Qwen3-0.6B',
        messages,
        max_tokens: 2,
      });
      expect(again.usage?.prompt_tokens_details?.cached_tokens ?? 0).toBeGreaterThan(256);
    }
  }, 90_000);

  it('rejects an unknown path with one line and exit code 2', async () => {
    const child = spawnCli(['up', 'warp-drive']);
    children.push(child);
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    expect(await waitForExit(child)).toBe(2);
    expect(errors.trim().split('\n')).toEqual([
      'llmd: error: unknown path "warp-drive" (available: optimized-baseline, precise-prefix-cache-routing)',
    ]);
  });

  it('rejects an invalid --config with one line naming the field, exit code 2, and stops the pods it started', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'llmd-up-config-'));
    const file = join(folder, 'epp.yaml');
    await writeFile(file, 'plugins:\n- type: queue-scorer\n  parameters: { treshold: 3 }\n');
    try {
      const child = spawnCli([
        'up',
        'optimized-baseline',
        '--port',
        '0',
        '--replicas',
        '2',
        '--config',
        file,
      ]);
      children.push(child);
      let errors = '';
      child.stderr.on('data', (chunk: Buffer) => {
        errors += chunk.toString();
      });
      expect(await waitForExit(child)).toBe(2);
      expect(errors.trim().split('\n')).toHaveLength(1);
      expect(errors).toMatch(/^llmd: error: instantiate phase: plugins\[0\]\.parameters/);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('reports a port in use with one line and exit code 2, leaving nothing running', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const child = spawnCli(['up', 'optimized-baseline', '--port', String(port)]);
      children.push(child);
      let errors = '';
      child.stderr.on('data', (chunk: Buffer) => {
        errors += chunk.toString();
      });
      expect(await waitForExit(child)).toBe(2);
      expect(errors.trim()).toBe(`llmd: error: port ${port} is already in use (choose another with --port)`);
    } finally {
      blocker.close();
    }
  });
});
