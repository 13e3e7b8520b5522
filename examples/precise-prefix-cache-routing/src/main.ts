import { createServer } from 'node:net';
import { createEndpointPicker, type RequestPipeline, StaticDiscovery, startGateway } from '@llmd/epp';
import { startSimCluster } from '@llmd/sim';
import OpenAI from 'openai';

const model = 'Qwen/Qwen3-0.6B';
const blockSize = 64;

// The EPP binds one ZeroMQ SUB socket; every pod publishes its KV events to it (llm-d's centralised
// mode). On Kubernetes each pod binds tcp://*:5556 instead and the EPP dials every pod.
const kvEventsEndpoint = await new Promise<string>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address() as { port: number };
    probe.close(() => resolve(`tcp://127.0.0.1:${port}`));
  });
});

// 1. Simulated vLLM pods with `--kv-events-config` and `--block-size 64`, as the guide deploys vLLM.
const cluster = await startSimCluster({
  replicas: 4,
  config: {
    model,
    blockSize,
    timeScale: 20,
    kvEventsConfig: { enable_kv_cache_events: true, publisher: 'zmq', endpoint: kvEventsEndpoint },
  },
});

// 2. The guide's config: tokens from the engines' render endpoint, the KV-event index in-process.
const config = `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: token-producer
  parameters: { modelName: ${model}, vllm: { url: "http://${cluster.endpoints[0]}" } }
- type: endpoint-notification-source
- type: precise-prefix-cache-producer
  parameters:
    tokenProcessorConfig: { blockSize: ${blockSize} }
    speculativeIndexing: true
    kvEventsConfig: { topicFilter: "kv@", discoverPods: false, zmqEndpoint: "${kvEventsEndpoint}" }
- type: prefix-cache-scorer
  parameters: { prefixMatchInfoProducerName: precise-prefix-cache-producer }
- type: kv-cache-utilization-scorer
- type: queue-scorer
- type: no-hit-lru-scorer
  parameters: { prefixMatchInfoProducerName: precise-prefix-cache-producer }
dataLayer:
  sources:
  - pluginRef: endpoint-notification-source
    extractors: [{ pluginRef: precise-prefix-cache-producer }]
schedulingProfiles:
- name: default
  plugins:
  - { pluginRef: kv-cache-utilization-scorer, weight: 2 }
  - { pluginRef: queue-scorer, weight: 2 }
  - { pluginRef: prefix-cache-scorer, weight: 3 }
  - { pluginRef: no-hit-lru-scorer, weight: 2 }
`;
const picker = await createEndpointPicker({
  config,
  discovery: new StaticDiscovery({ endpoints: cluster.endpoints }),
});
await picker.start();

// 3. The gateway; the pipeline wrapper only records where each request went.
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

// 4. The same long document asked about three times: after the first answer, the pod's KV events
// tell the index where the blocks are, and later questions go there.
const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused' });
const document = 'Clause: the supplier shall deliver the goods within thirty days of the order. '.repeat(80);
for (const [index, question] of [
  'Summarise the contract.',
  'List the deadlines.',
  'Who bears the risk?',
].entries()) {
  const requestId = `question-${index}`;
  const completion = await client.chat.completions.create(
    { model, messages: [{ role: 'user', content: `${document}\n${question}` }], max_tokens: 8 },
    { headers: { 'x-request-id': requestId } },
  );
  const pod = cluster.endpoints.indexOf(routedTo.get(requestId) ?? '');
  const cached = completion.usage?.prompt_tokens_details?.cached_tokens ?? 0;
  console.log(
    `"${question}" → pod ${pod}: ${cached}/${completion.usage?.prompt_tokens} prompt tokens cached`,
  );
  await new Promise((resolve) => setTimeout(resolve, 100)); // let the KV events arrive
}

await gateway.close();
await picker.close();
await cluster.close(0);
