/**
 * Load generator for the simulator benchmarks, run on a worker thread so the simulated pods keep
 * their own core. Streams completions over keep-alive node:http connections and records, per
 * request, the time to the first content chunk and the times of all chunks.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';

interface LoadPlan {
  endpoints: string[];
  /** Streams start spread uniformly over this window, as arrivals in a real load test are. */
  rampUpMilliseconds: number;
  concurrencyPerEndpoint: number;
  requestsPerStream: number;
  body: (index: number) => Record<string, unknown>;
}

interface WorkerInput {
  endpoints: string[];
  rampUpMilliseconds: number;
  concurrencyPerEndpoint: number;
  requestsPerStream: number;
  promptWords: number;
  maxTokens: number;
  stream: boolean;
}

export interface RequestRecord {
  endpoint: string;
  promptTokens: number;
  completionTokens: number;
  timeToFirstTokenMilliseconds: number;
  /** Mean gap between content chunks after the first. */
  meanInterTokenMilliseconds: number;
  endToEndMilliseconds: number;
}

function send(agent: Agent, endpoint: string, body: Record<string, unknown>): Promise<RequestRecord> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const payload = JSON.stringify(body);
    const [host, port] = endpoint.split(':') as [string, string];
    const chunkTimes: number[] = [];
    let buffered = '';
    let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
    const outgoing = request(
      {
        host,
        port: Number(port),
        path: '/v1/completions',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (response) => {
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          const now = performance.now();
          buffered += chunk;
          let boundary = buffered.indexOf('\n\n');
          while (boundary >= 0) {
            const event = buffered.slice(0, boundary);
            buffered = buffered.slice(boundary + 2);
            boundary = buffered.indexOf('\n\n');
            if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
            // Only the usage chunk needs parsing; content chunks are just timed (keeps the client cheap).
            if (event.includes('"choices":[]'))
              usage = (JSON.parse(event.slice(6)) as { usage: NonNullable<typeof usage> }).usage;
            else chunkTimes.push(now);
          }
        });
        response.on('end', () => {
          if (!body.stream) {
            const data = JSON.parse(buffered) as { usage: NonNullable<typeof usage> };
            usage = data.usage;
            chunkTimes.push(performance.now());
          }
          const first = chunkTimes[0] ?? performance.now();
          const last = chunkTimes.at(-1) ?? first;
          resolve({
            endpoint,
            promptTokens: usage?.prompt_tokens ?? 0,
            completionTokens: usage?.completion_tokens ?? 0,
            timeToFirstTokenMilliseconds: first - started,
            meanInterTokenMilliseconds: chunkTimes.length > 1 ? (last - first) / (chunkTimes.length - 1) : 0,
            endToEndMilliseconds: performance.now() - started,
          });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

async function run(plan: LoadPlan): Promise<{ records: RequestRecord[]; seconds: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: plan.concurrencyPerEndpoint });
  const records: RequestRecord[] = [];
  const started = performance.now();
  let counter = 0;
  await Promise.all(
    plan.endpoints.flatMap((endpoint) =>
      Array.from({ length: plan.concurrencyPerEndpoint }, async (_, stream) => {
        const delay =
          (plan.rampUpMilliseconds * stream) / plan.concurrencyPerEndpoint +
          Math.random() * (plan.rampUpMilliseconds / plan.concurrencyPerEndpoint);
        await new Promise((resolve) => setTimeout(resolve, delay));
        for (let index = 0; index < plan.requestsPerStream; index++)
          records.push(await send(agent, endpoint, plan.body(counter++)));
      }),
    ),
  );
  agent.destroy();
  return { records, seconds: (performance.now() - started) / 1000 };
}

if (parentPort) {
  const input = workerData as WorkerInput;
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
  const result = await run({
    endpoints: input.endpoints,
    rampUpMilliseconds: input.rampUpMilliseconds,
    concurrencyPerEndpoint: input.concurrencyPerEndpoint,
    requestsPerStream: input.requestsPerStream,
    // Distinct prompts of equal length: no prefix-cache hits, so TTFT follows the configured model.
    body: (index) => ({
      model: 'sim',
      prompt: `${index} ${Array.from({ length: input.promptWords }, (_, word) => words[(word * 7 + index) % words.length]).join(' ')}`,
      max_tokens: input.maxTokens,
      ignore_eos: true,
      stream: input.stream,
      ...(input.stream ? { stream_options: { include_usage: true } } : {}),
    }),
  });
  parentPort.postMessage(result);
}
