/**
 * Worker-thread entry of gateway-bench.ts: generates load on its own core so the load generator
 * does not share the event loop of the in-process gateway it measures. Receives the scenario in
 * `workerData`, posts a {@link LoadResult} back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Agent } from 'undici';

export interface LoadScenario {
  /** Base URLs (`http://host:port`); requests go round-robin over them. */
  readonly baseUrls: ReadonlyArray<string>;
  readonly kind: 'completions' | 'streaming';
  readonly concurrency: number;
  readonly warmupMilliseconds: number;
  readonly durationMilliseconds: number;
  readonly maxTokens: number;
  readonly model: string;
}

export interface LoadResult {
  readonly requests: number;
  /** Successful requests over the whole run, warm-up and tail included (to divide CPU time by). */
  readonly completedRequests: number;
  readonly errors: number;
  readonly tokens: number;
  readonly elapsedMilliseconds: number;
  /** Per-request latency (completions) or time to first byte (streaming), sorted ascending. */
  readonly latenciesMilliseconds: number[];
  readonly firstError: string | undefined;
}

const eventPrefix = 'data: {';

/** Counts SSE token events in a chunk; `carry` keeps a prefix split across chunks findable. */
function countEvents(carry: string, chunk: string): { count: number; carry: string } {
  const text = carry + chunk;
  let count = 0;
  for (let index = text.indexOf(eventPrefix); index !== -1; index = text.indexOf(eventPrefix, index + 1))
    count++;
  // Shorter than the prefix, so an event is never counted twice.
  return { count, carry: text.slice(-(eventPrefix.length - 1)) };
}

async function run(scenario: LoadScenario): Promise<LoadResult> {
  const agent = new Agent({ connections: scenario.concurrency, keepAliveTimeout: 30_000 });
  const body = JSON.stringify({
    model: scenario.model,
    prompt: 'the quick brown fox jumps over the lazy dog',
    max_tokens: scenario.maxTokens,
    ignore_eos: true,
    ...(scenario.kind === 'streaming' ? { stream: true } : {}),
  });
  const measureFrom = performance.now() + scenario.warmupMilliseconds;
  const stopAt = measureFrom + scenario.durationMilliseconds;
  let next = 0;
  let requests = 0;
  let completedRequests = 0;
  let errors = 0;
  let tokens = 0;
  let firstError: string | undefined;
  const latencies: number[] = [];

  const loop = async () => {
    while (performance.now() < stopAt) {
      const baseUrl = scenario.baseUrls[next++ % scenario.baseUrls.length] as string;
      const started = performance.now();
      try {
        const response = await agent.request({
          origin: baseUrl,
          path: '/v1/completions',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        let firstByteAt: number | undefined;
        let carry = '';
        let errorText = '';
        for await (const chunk of response.body as AsyncIterable<Buffer>) {
          const now = performance.now();
          firstByteAt ??= now;
          if (response.statusCode !== 200) {
            errorText += chunk.toString('utf8');
            continue;
          }
          if (scenario.kind === 'streaming') {
            const counted = countEvents(carry, chunk.toString('utf8'));
            carry = counted.carry;
            // Tokens/s counts what arrived inside the window, also from streams crossing its edges.
            if (now >= measureFrom && now <= stopAt) tokens += counted.count;
          }
        }
        const finished = performance.now();
        if (response.statusCode !== 200) {
          errors++;
          firstError ??= `status ${response.statusCode}: ${errorText.slice(0, 200)}`;
          continue;
        }
        completedRequests++;
        if (finished < measureFrom || finished > stopAt) continue;
        requests++;
        if (scenario.kind === 'streaming') latencies.push((firstByteAt ?? finished) - started);
        else {
          tokens += scenario.maxTokens;
          latencies.push(finished - started);
        }
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: scenario.concurrency }, loop));
  await agent.close();
  latencies.sort((a, b) => a - b);
  return {
    requests,
    completedRequests,
    errors,
    tokens,
    elapsedMilliseconds: scenario.durationMilliseconds,
    latenciesMilliseconds: latencies,
    firstError,
  };
}

if (parentPort) {
  const port = parentPort;
  void run(workerData as LoadScenario).then(
    (result) => port.postMessage(result),
    (error: unknown) => port.postMessage({ failure: error instanceof Error ? error.message : String(error) }),
  );
}
