/**
 * InferencePool discovery (llm-d's default mode): watch one InferencePool
 * (`inference.networking.k8s.io/v1`) and the Pods of its namespace that match
 * `spec.selector.matchLabels`; every Ready pod contributes one endpoint per `spec.targetPorts[i]`
 * (`podIP:port`, named `<pod>-rank-<i>` when the pool has several ports: data-parallel ranks).
 *
 * A pod counts only when its `Ready` condition is `True`, it has a `podIP` and no
 * `deletionTimestamp`. The datastore is marked synced once the pool was found and its pods listed.
 * A selector change relists the pods; a port change recomputes endpoints from the pods already
 * known; a deleted pool empties the datastore until the pool comes back.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  Watch,
} from '@kubernetes/client-node';
import { createEndpoint, type Endpoint, type Logger, noopLogger } from '@llmd/core';
import { z } from 'zod';
import type { Datastore } from './datastore.js';
import type { EndpointDiscovery } from './endpoint-discovery.js';
import { KubernetesReflector, type KubernetesWatchEventType } from './kubernetes-reflector.js';

export interface KubernetesDiscoveryOptions {
  /** Loaded by the caller (`loadFromCluster()` in a pod, `loadFromDefault()` for a kubeconfig, …). */
  kubeConfig: KubeConfig;
  poolName: string;
  /** Default `default` (the executable passes env `NAMESPACE` when set). */
  poolNamespace?: string;
  /** Default `inference.networking.k8s.io`. */
  poolGroup?: string;
  /** Default `v1`. */
  poolVersion?: string;
  logger?: Logger;
  /** First retry delay after a failed list or watch; doubles up to the maximum. Default 500 ms. */
  initialRetryDelayMilliseconds?: number;
  /** Default 30 s. */
  maximumRetryDelayMilliseconds?: number;
}

const inferencePoolSchema = z.object({
  metadata: z.object({ name: z.string(), resourceVersion: z.string().optional() }),
  spec: z.object({
    selector: z.object({ matchLabels: z.record(z.string(), z.string()) }),
    targetPorts: z
      .array(z.object({ number: z.number().int().min(1).max(65535) }))
      .min(1)
      .max(8),
  }),
});

/** The parts of an InferencePool discovery needs. */
export interface InferencePoolView {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly targetPorts: ReadonlyArray<number>;
}

/** The parts of a Pod discovery needs, from a typed list item or a raw watch object alike. */
export interface PodView {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly podIp: string | undefined;
  readonly ready: boolean;
  readonly deleting: boolean;
}

interface PodLike extends KubernetesObject {
  status?: { podIP?: string; conditions?: ReadonlyArray<{ type?: string; status?: string }> };
}

function toPodView(pod: PodLike, fallbackNamespace: string): PodView | undefined {
  const name = pod.metadata?.name;
  if (!name) return undefined;
  const conditions = pod.status?.conditions ?? [];
  return {
    name,
    namespace: pod.metadata?.namespace ?? fallbackNamespace,
    labels: pod.metadata?.labels ?? {},
    podIp: pod.status?.podIP || undefined,
    ready: conditions.some((condition) => condition.type === 'Ready' && condition.status === 'True'),
    // A Date from a typed list, a string from a watch event: presence is what counts.
    deleting: Boolean(pod.metadata?.deletionTimestamp),
  };
}

function formatLabelSelector(matchLabels: Readonly<Record<string, string>>): string {
  return Object.keys(matchLabels)
    .sort()
    .map((key) => `${key}=${matchLabels[key]}`)
    .join(',');
}

function matchesSelector(
  labels: Readonly<Record<string, string>>,
  matchLabels: Readonly<Record<string, string>>,
) {
  for (const [key, value] of Object.entries(matchLabels)) if (labels[key] !== value) return false;
  return true;
}

/** Endpoints of the Ready pods: one per pod × target port. */
export function endpointsFromPods(pods: Iterable<PodView>, pool: InferencePoolView): Endpoint[] {
  const endpoints: Endpoint[] = [];
  const multiplePorts = pool.targetPorts.length > 1;
  for (const pod of pods) {
    if (!pod.ready || pod.deleting || !pod.podIp || !matchesSelector(pod.labels, pool.matchLabels)) continue;
    pool.targetPorts.forEach((port, rank) => {
      endpoints.push(
        createEndpoint({
          address: pod.podIp as string,
          port,
          name: multiplePorts ? `${pod.name}-rank-${rank}` : pod.name,
          namespace: pod.namespace,
          labels: pod.labels,
        }),
      );
    });
  }
  return endpoints;
}

export class KubernetesDiscovery implements EndpointDiscovery {
  readonly #options: Required<Omit<KubernetesDiscoveryOptions, 'logger'>>;
  readonly #logger: Logger;
  readonly #coreApi: CoreV1Api;
  readonly #customObjectsApi: CustomObjectsApi;
  readonly #watch: Watch;
  #datastore: Datastore | undefined;
  #poolReflector: KubernetesReflector<KubernetesObject> | undefined;
  #podReflector: KubernetesReflector<PodLike> | undefined;
  #pool: InferencePoolView | undefined;
  #selector: string | undefined;
  readonly #pods = new Map<string, PodView>();
  #podsListed = false;
  #stopped = true;

  constructor(options: KubernetesDiscoveryOptions) {
    this.#options = {
      kubeConfig: options.kubeConfig,
      poolName: options.poolName,
      poolNamespace: options.poolNamespace ?? 'default',
      poolGroup: options.poolGroup ?? 'inference.networking.k8s.io',
      poolVersion: options.poolVersion ?? 'v1',
      initialRetryDelayMilliseconds: options.initialRetryDelayMilliseconds ?? 500,
      maximumRetryDelayMilliseconds: options.maximumRetryDelayMilliseconds ?? 30_000,
    };
    this.#logger = (options.logger ?? noopLogger).child({
      discovery: 'kubernetes',
      pool: `${this.#options.poolNamespace}/${this.#options.poolName}`,
    });
    this.#coreApi = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#customObjectsApi = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.#watch = new Watch(options.kubeConfig);
  }

  /** The pool as last seen; undefined before it is found or after it was deleted. */
  get pool(): InferencePoolView | undefined {
    return this.#pool;
  }

  /** Starts watching and returns; wait for `datastore.whenSynced()` before serving. */
  async start(datastore: Datastore): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#datastore = datastore;
    const { poolGroup, poolVersion, poolNamespace, poolName } = this.#options;
    const fieldSelector = `metadata.name=${poolName}`;
    this.#poolReflector = new KubernetesReflector<KubernetesObject>({
      resource: 'inferencepools',
      watch: this.#watch,
      path: `/apis/${poolGroup}/${poolVersion}/namespaces/${poolNamespace}/inferencepools`,
      query: { fieldSelector },
      list: async () => {
        const list = (await this.#customObjectsApi.listNamespacedCustomObject({
          group: poolGroup,
          version: poolVersion,
          namespace: poolNamespace,
          plural: 'inferencepools',
          fieldSelector,
        })) as { items?: KubernetesObject[]; metadata?: { resourceVersion?: string } };
        return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '' };
      },
      onList: (items) => this.#applyPool(items.find((item) => item.metadata?.name === poolName)),
      onEvent: (type, item) => {
        if (item.metadata?.name !== poolName) return;
        this.#applyPool(type === 'DELETED' ? undefined : item);
      },
      logger: this.#logger,
      initialRetryDelayMilliseconds: this.#options.initialRetryDelayMilliseconds,
      maximumRetryDelayMilliseconds: this.#options.maximumRetryDelayMilliseconds,
    });
    this.#poolReflector.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([this.#poolReflector?.stop(), this.#podReflector?.stop()]);
    // A later start begins from scratch: list the pool, then its pods.
    this.#poolReflector = undefined;
    this.#podReflector = undefined;
    this.#pool = undefined;
    this.#selector = undefined;
    this.#pods.clear();
    this.#podsListed = false;
  }

  #applyPool(object: KubernetesObject | undefined): void {
    if (this.#stopped) return;
    if (!object) {
      if (this.#pool) this.#logger.warn({}, 'InferencePool deleted; removing all endpoints');
      else this.#logger.warn({}, 'InferencePool not found; waiting for it to be created');
      this.#pool = undefined;
      this.#selector = undefined;
      this.#stopPods();
      this.#datastore?.replaceAll([]);
      return;
    }
    const parsed = inferencePoolSchema.safeParse(object);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.#logger.error(
        { path: issue?.path.join('.'), error: issue?.message },
        'InferencePool spec is invalid; keeping the previous endpoints',
      );
      return;
    }
    const pool: InferencePoolView = {
      matchLabels: parsed.data.spec.selector.matchLabels,
      targetPorts: parsed.data.spec.targetPorts.map((port) => port.number),
    };
    this.#pool = pool;
    const selector = formatLabelSelector(pool.matchLabels);
    if (selector !== this.#selector || !this.#podReflector) {
      this.#selector = selector;
      this.#startPods(selector);
    } else {
      this.#publish();
    }
  }

  #startPods(selector: string): void {
    this.#stopPods();
    const namespace = this.#options.poolNamespace;
    // Keep the current endpoints until the new listing replaces them: a selector edit should not
    // make the pool look empty for the length of a list call.
    const reflector = new KubernetesReflector<PodLike>({
      resource: 'pods',
      watch: this.#watch,
      path: `/api/v1/namespaces/${namespace}/pods`,
      query: { labelSelector: selector },
      list: async () => {
        const list = await this.#coreApi.listNamespacedPod({ namespace, labelSelector: selector });
        return { items: list.items as PodLike[], resourceVersion: list.metadata?.resourceVersion ?? '' };
      },
      onList: (items) => {
        if (reflector !== this.#podReflector) return;
        this.#pods.clear();
        for (const item of items) {
          const pod = toPodView(item, namespace);
          if (pod) this.#pods.set(pod.name, pod);
        }
        this.#podsListed = true;
        this.#publish();
        this.#datastore?.markSynced();
      },
      onEvent: (type: KubernetesWatchEventType, item) => {
        if (reflector !== this.#podReflector) return;
        const pod = toPodView(item, namespace);
        if (!pod) return;
        if (type === 'DELETED') this.#pods.delete(pod.name);
        else this.#pods.set(pod.name, pod);
        this.#publish();
      },
      logger: this.#logger,
      initialRetryDelayMilliseconds: this.#options.initialRetryDelayMilliseconds,
      maximumRetryDelayMilliseconds: this.#options.maximumRetryDelayMilliseconds,
    });
    this.#podReflector = reflector;
    reflector.start();
  }

  #stopPods(): void {
    const reflector = this.#podReflector;
    if (!reflector) return;
    this.#podReflector = undefined;
    this.#pods.clear();
    this.#podsListed = false;
    void reflector.stop();
  }

  #publish(): void {
    if (!this.#pool || !this.#podsListed || this.#stopped) return;
    this.#datastore?.replaceAll(endpointsFromPods(this.#pods.values(), this.#pool));
  }
}
