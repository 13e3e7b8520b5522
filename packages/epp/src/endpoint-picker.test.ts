import { type SimCluster, startSimCluster } from '@llmd/sim';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { StaticDiscovery } from './datalayer/static-discovery.js';
import { createDefaultFlowControl } from './default-flow-control.js';
import { createEndpointPicker, type EndpointPicker } from './endpoint-picker.js';
import { type Gateway, startGateway } from './gateway/gateway-server.js';

const model = 'Qwen/Qwen3-0.6B';
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function successCounts(cluster: SimCluster): Promise<number[]> {
  return Promise.all(
    cluster.pods.map(async (pod) => {
      const text = await (await fetch(`${pod.url}/metrics`)).text();
      let total = 0;
      for (const line of text.split('\n'))
        if (line.startsWith('vllm:request_success_total')) total += Number(line.split(' ').pop());
      return total;
    }),
  );
}

async function stack(
  replicas: number,
  maxNumSeqs = 8,
): Promise<{ cluster: SimCluster; picker: EndpointPicker; gateway: Gateway; client: OpenAI }> {
  const cluster = await startSimCluster({ replicas, config: { model, timeScale: 50, maxNumSeqs } });
  closers.push(() => cluster.close(0));
  const picker = await createEndpointPicker({
    discovery: new StaticDiscovery({ endpoints: cluster.endpoints }),
    createFlowControl: createDefaultFlowControl,
  });
  closers.push(() => picker.close());
  await picker.start();
  await waitFor(() => picker.datastore.snapshot().every((state) => state.metrics.updateTime > 0));
  const gateway = await startGateway({
    pipeline: picker.pipeline,
    endpoints: () => picker.datastore.snapshot().map((state) => state.endpoint),
  });
  closers.push(() => gateway.close());
  return {
    cluster,
    picker,
    gateway,
    client: new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 }),
  };
}

async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMilliseconds = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMilliseconds;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('Endpoint Picker with the default config against simulated pods', () => {
  it('schedules a repeated long prompt to the pod that served it', async () => {
    const { cluster, client } = await stack(4);
    const prompt = `${'You are a careful assistant that answers in detail. '.repeat(400)}Question: what is prefix caching?`;
    const ask = () =>
      client.chat.completions.create({ model, messages: [{ role: 'user', content: prompt }], max_tokens: 4 });
    await ask();
    const first = await successCounts(cluster);
    const served = first.indexOf(1);
    expect(served).toBeGreaterThanOrEqual(0);
    for (let repeat = 0; repeat < 4; repeat++) await ask();
    const after = await successCounts(cluster);
    expect(after[served]).toBe(5);
    expect(after.reduce((sum, count) => sum + count, 0)).toBe(5);
  });

  it('sends new prompts to the least-loaded pod under uneven load', async () => {
    const { cluster, picker, client } = await stack(3, 1);
    const busy = cluster.pods.slice(0, 2);
    // Long generations straight at pods 0 and 1 (bypassing the gateway) fill their queues.
    const background = busy.flatMap((pod) =>
      Array.from({ length: 4 }, () =>
        fetch(`${pod.url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model, prompt: 'busy', max_tokens: 4000, ignore_eos: true }),
        }).catch(() => undefined),
      ),
    );
    const busyKeys = new Set(busy.map((pod) => new URL(pod.url).host));
    await waitFor(() =>
      picker.datastore
        .snapshot()
        .every((state) => !busyKeys.has(state.endpoint.key) || state.metrics.waitingQueueSize >= 2),
    );
    const before = await successCounts(cluster);
    for (let index = 0; index < 3; index++) {
      await client.completions.create({ model, prompt: `fresh question number ${index}`, max_tokens: 2 });
    }
    const after = await successCounts(cluster);
    expect(after.map((count, index) => count - (before[index] as number))).toEqual([0, 0, 3]);
    await cluster.close(0);
    await Promise.all(background);
  });
});
