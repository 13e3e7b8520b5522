/**
 * Child-process entry of gateway-bench.ts: runs the simulated pods in their own process so the
 * proxies under test do not share an event loop with the backend. Prints one JSON line
 * `{"endpoints":[…]}` when ready and exits when its stdin closes (the parent went away).
 */
import { startSimCluster } from '@llmd/sim';

interface SimChildOptions {
  readonly pods: number;
  readonly timeScale: number;
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as SimChildOptions;
  const cluster = await startSimCluster({
    replicas: options.pods,
    config: {
      model: 'bench-model',
      mode: 'random',
      timeScale: options.timeScale,
      // Room for every concurrent request, so engine queueing does not hide proxy overhead.
      maxNumSeqs: 1024,
      maxWaitingQueueLength: 100_000,
    },
  });
  process.stdout.write(`${JSON.stringify({ endpoints: cluster.endpoints })}\n`);
  const stop = () => {
    void cluster.close(0).finally(() => process.exit(0));
  };
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
}

void main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
