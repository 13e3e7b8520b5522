import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LlmdError } from '@llmd/core';
import { type SimConfigInput, simConfigSchema, startSimCluster } from '@llmd/sim';

export interface SimPod {
  /** `host:port` of the pod's OpenAI API. */
  readonly endpoint: string;
  /** The pod's KV-event PUB endpoint, when events are on. */
  readonly kvEvents: string | undefined;
}

export interface SimPods {
  readonly pods: ReadonlyArray<SimPod>;
  close(): Promise<void>;
}

export interface StartSimPodsOptions {
  readonly replicas: number;
  readonly config: SimConfigInput;
  readonly perPod?: ReadonlyArray<Partial<SimConfigInput>>;
  /** Run the pods in this process (tests) instead of a child process. */
  readonly inProcess?: boolean;
}

/** The compiled entry next to this file, or the TypeScript source when running from source. */
function childEntry(): { file: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    return {
      file: fileURLToPath(new URL('./sim-pods-main.ts', import.meta.url)),
      execArgv: ['--conditions=@llmd/source', '--import', 'tsx'],
    };
  }
  const built = fileURLToPath(new URL('./sim-pods-main.js', import.meta.url));
  return {
    file: existsSync(built) ? built : fileURLToPath(new URL('../sim-pods-main.js', import.meta.url)),
    execArgv: [],
  };
}

/** Starts N simulated vLLM pods, by default in one child process. */
export async function startSimPods(options: StartSimPodsOptions): Promise<SimPods> {
  // Validate here so a bad setting is one clear error, not a child's stack trace.
  const checked = simConfigSchema.safeParse({ port: 0, ...options.config });
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new LlmdError('invalid_argument', `simulator setting ${issue?.path.join('.')}: ${issue?.message}`);
  }
  if (options.inProcess) {
    const cluster = await startSimCluster({
      replicas: options.replicas,
      config: { port: 0, ...options.config },
      ...(options.perPod ? { configFor: (index: number) => options.perPod?.[index] ?? {} } : {}),
    });
    return {
      pods: cluster.pods.map((pod) => ({
        endpoint: new URL(pod.url).host,
        kvEvents: pod.ranks[0]?.kvEvents?.endpoint,
      })),
      close: () => cluster.close(0),
    };
  }
  const { file, execArgv } = childEntry();
  const child = spawn(
    process.execPath,
    [
      ...execArgv,
      file,
      JSON.stringify({ replicas: options.replicas, config: options.config, perPod: options.perPod }),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const pods = await new Promise<SimPod[]>((resolve, reject) => {
    let output = '';
    let errors = '';
    const onExit = (code: number | null) =>
      reject(new LlmdError('internal', `simulated pods exited (${code}): ${errors.trim()}`));
    child.once('exit', onExit);
    child.stderr?.on('data', (chunk: Buffer) => {
      errors = (errors + chunk.toString()).slice(-4000);
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /LLMD_SIM_PODS (.*)\n/.exec(output);
      if (match) {
        child.off('exit', onExit);
        resolve((JSON.parse(match[1] as string) as { pods: SimPod[] }).pods);
      }
    });
  });
  child.stdout?.resume();
  return {
    pods,
    close: () => stopChild(child),
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
