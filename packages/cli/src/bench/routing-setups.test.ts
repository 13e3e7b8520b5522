import { describe, expect, it } from 'vitest';
import { startLocalStack } from '../up/local-stack.js';
import {
  parseRoutingSetupList,
  routingSetupNames,
  routingSetupPath,
  routingSetups,
} from './routing-setups.js';

async function completedPerPod(endpoints: ReadonlyArray<string>): Promise<number[]> {
  return Promise.all(
    endpoints.map(async (endpoint) => {
      const text = await (await fetch(`http://${endpoint}/metrics`)).text();
      const match = /^vllm:request_success_total\{[^}]*\} (\d+)/m.exec(text);
      return Number(match?.[1] ?? 0);
    }),
  );
}

async function complete(gatewayUrl: string, model: string, prompt: string): Promise<void> {
  const response = await fetch(`${gatewayUrl}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, prompt, max_tokens: 2 }),
  });
  expect(response.status).toBe(200);
  await response.text();
}

describe('routing setups', () => {
  it("lists the five setups of llm-d's comparison on the path whose pods they need", () => {
    const setups = routingSetups();
    expect(setups.map((setup) => setup.name)).toEqual([...routingSetupNames]);
    expect(Object.fromEntries(setups.map((setup) => [setup.name, setup.path.name]))).toEqual({
      random: 'optimized-baseline',
      'round-robin': 'optimized-baseline',
      load: 'optimized-baseline',
      approximate: 'optimized-baseline',
      precise: 'precise-prefix-cache-routing',
    });
  });

  it('parses --compare lists in the order given and rejects unknown or repeated names', () => {
    expect(parseRoutingSetupList('precise, round-robin').map((setup) => setup.name)).toEqual([
      'precise',
      'round-robin',
    ]);
    expect(() => parseRoutingSetupList('precise,fastest')).toThrow(
      '--compare: unknown routing setup "fastest" (available: random, round-robin, load, approximate, precise)',
    );
    expect(() => parseRoutingSetupList('load,load')).toThrow(/named twice/);
    expect(() => parseRoutingSetupList(' , ')).toThrow(/at least one/);
  });

  it.each(routingSetupNames)(
    '%s runs on a local stack and serves requests',
    async (name) => {
      const [setup] = parseRoutingSetupList(name);
      if (!setup) throw new Error('unreachable');
      const stack = await startLocalStack({
        path: routingSetupPath(setup),
        replicas: 2,
        port: 0,
        inProcessPods: true,
        plugins: setup.plugins,
        sim: { timeScale: 100, blockSize: 16 },
      });
      try {
        expect(stack.eppConfig).toBe(
          setup.configText({ ...contextOf(stack.eppConfig), blockSize: 16, timeScale: 1 }),
        );
        await complete(stack.gatewayUrl, stack.modelName, 'hello there');
      } finally {
        await stack.close();
      }
    },
    30_000,
  );

  it("counts the speculative TTL of precise routing in the pods' time", () => {
    const [precise] = parseRoutingSetupList('precise');
    const context = {
      modelName: 'm',
      renderUrl: 'http://127.0.0.1:1',
      kvEventsEndpoint: 'tcp://127.0.0.1:2',
      blockSize: 64,
    };
    const original = precise?.path.eppConfig(context);
    expect(precise?.configText({ ...context, timeScale: 1 })).toBe(original);
    expect(precise?.configText({ ...context, timeScale: 0.25 })).toBe(
      original?.replace(
        '    speculativeIndexing: true\n',
        '    speculativeIndexing: true\n    speculativeTTL: 8000ms\n',
      ),
    );
  });

  it('round-robin takes the pods in turn', async () => {
    const [setup] = parseRoutingSetupList('round-robin');
    if (!setup) throw new Error('unreachable');
    const stack = await startLocalStack({
      path: routingSetupPath(setup),
      replicas: 3,
      port: 0,
      inProcessPods: true,
      plugins: setup.plugins,
      sim: { timeScale: 100 },
    });
    try {
      for (let index = 0; index < 6; index++)
        await complete(stack.gatewayUrl, stack.modelName, `request ${index}`);
      expect(await completedPerPod(stack.pods.map((pod) => pod.endpoint))).toEqual([2, 2, 2]);
    } finally {
      await stack.close();
    }
  }, 30_000);
});

/**
 * The context a stack built its config from, read back from the precise config (the only one that
 * uses it); the other setups ignore the context.
 */
function contextOf(config: string) {
  const renderUrl = /vllm: \{ url: "([^"]+)" \}/.exec(config)?.[1] ?? '';
  const kvEventsEndpoint = /zmqEndpoint: "([^"]+)"/.exec(config)?.[1] ?? '';
  return { modelName: 'Qwen/Qwen3-0.6B', renderUrl, kvEventsEndpoint };
}
