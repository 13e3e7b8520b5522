import { readFile } from 'node:fs/promises';
import { createEndpointPicker, type RequestPipeline, StaticDiscovery, startGateway } from '@llmd/epp';
import { startSimCluster } from '@llmd/sim';
import OpenAI from 'openai';

const model = 'Qwen/Qwen3-0.6B';

// 1. Four simulated vLLM pods (in this process; `llmd up` runs them in a child process).
const cluster = await startSimCluster({ replicas: 4, config: { model, timeScale: 20 } });

// 2. The Endpoint Picker with the guide's config: static discovery + 50 ms metrics scraping.
const picker = await createEndpointPicker({
  config: await readFile(new URL('./epp-config.yaml', import.meta.url), 'utf8'),
  discovery: new StaticDiscovery({ endpoints: cluster.endpoints }),
});
await picker.start();

// 3. The embedded gateway; the pipeline is wrapped only to print where each request went.
const routedTo = new Map<string, string>();
const pipeline: RequestPipeline = {
  async handle(incoming) {
    const outcome = await picker.pipeline.handle(incoming);
    if (outcome.kind === 'route') routedTo.set(outcome.requestId, outcome.targets[0] as string);
    return outcome;
  },
};
const gateway = await startGateway({
  pipeline,
  endpoints: () => picker.datastore.snapshot().map((state) => state.endpoint),
});

// 4. Three conversations with long system prompts, interleaved: each sticks to the pod that cached it.
const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused' });
const personas = ['a travel planner', 'a Go code reviewer', 'a chemistry tutor'];
for (let turn = 1; turn <= 3; turn++) {
  for (const [index, persona] of personas.entries()) {
    const requestId = `conversation-${index}-turn-${turn}`;
    const completion = await client.chat.completions.create(
      {
        model,
        messages: [
          {
            role: 'system',
            content: `You are ${persona}. Answer carefully and cite your reasoning. `.repeat(40),
          },
          { role: 'user', content: `Question ${turn}?` },
        ],
        max_tokens: 8,
      },
      { headers: { 'x-request-id': requestId } },
    );
    const pod = cluster.endpoints.indexOf(routedTo.get(requestId) ?? '');
    const cached = completion.usage?.prompt_tokens_details?.cached_tokens ?? 0;
    console.log(
      `${persona}, turn ${turn} → pod ${pod}: ${cached}/${completion.usage?.prompt_tokens} prompt tokens cached`,
    );
  }
}

await gateway.close();
await picker.close();
await cluster.close(0);
