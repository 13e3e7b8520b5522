import { startSimCluster } from '@llmd/sim';

/**
 * Child-process entry of `llmd up` / `llmd bench`: runs the simulated pods in their own process so
 * they use the second core and the router's timings stay honest. Reads its settings as JSON from
 * argv, prints one `LLMD_SIM_PODS <json>` line when every pod listens, exits on SIGTERM/SIGINT or
 * when the parent goes away (stdin closes).
 */
interface SimPodsSettings {
  readonly replicas: number;
  readonly config: Record<string, unknown>;
  readonly perPod?: ReadonlyArray<Record<string, unknown>>;
}

async function main(): Promise<void> {
  const settings = JSON.parse(process.argv[2] ?? '{}') as SimPodsSettings;
  const cluster = await startSimCluster({
    replicas: settings.replicas,
    config: { port: 0, ...settings.config },
    ...(settings.perPod ? { configFor: (index: number) => settings.perPod?.[index] ?? {} } : {}),
  });
  const pods = cluster.pods.map((pod) => ({
    endpoint: new URL(pod.url).host,
    kvEvents: pod.ranks[0]?.kvEvents?.endpoint,
  }));
  process.stdout.write(`LLMD_SIM_PODS ${JSON.stringify({ pods })}\n`);
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    void cluster.close(0).finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
}

main().catch((error: unknown) => {
  process.stderr.write(`llmd sim pods: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
});
