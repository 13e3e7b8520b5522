/**
 * Kubernetes discovery against a local fake API server: no real Kubernetes API server can run in this
 * test environment, so `fake-kubernetes-api-server.ts` stands in for it, speaking the list/watch
 * protocol over plain HTTP. Discovery itself uses the real `@kubernetes/client-node` clients.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Datastore, type EndpointSetChange } from './datastore.js';
import { type FakeKubernetesApiServer, startFakeKubernetesApiServer } from './fake-kubernetes-api-server.js';
import { KubernetesDiscovery } from './kubernetes-discovery.js';
import { createRecordingLogger } from './recording-logger.js';

const namespace = 'llm';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function kubeConfigFor(server: FakeKubernetesApiServer): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'fake', server: server.url, skipTLSVerify: true }],
    users: [{ name: 'fake' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake', namespace }],
    currentContext: 'fake',
  });
  return kubeConfig;
}

function pool(matchLabels: Record<string, string> = { app: 'qwen' }, ports: number[] = [8000]) {
  return {
    apiVersion: 'inference.networking.k8s.io/v1',
    kind: 'InferencePool',
    metadata: { name: 'qwen', namespace },
    spec: { selector: { matchLabels }, targetPorts: ports.map((number) => ({ number })) },
  };
}

interface PodOptions {
  ready?: boolean;
  ip?: string | undefined;
  labels?: Record<string, string>;
  deleting?: boolean;
}

function pod(name: string, options: PodOptions = {}) {
  const { ready = true, labels = { app: 'qwen' }, deleting = false } = options;
  const ip = 'ip' in options ? options.ip : `10.0.0.${name.replace(/\D/g, '') || '1'}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels, ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
    spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai' }] },
    status: {
      ...(ip ? { podIP: ip } : {}),
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  };
}

async function setup() {
  const api = await startFakeKubernetesApiServer();
  cleanups.push(() => api.close());
  const datastore = new Datastore();
  const changes: EndpointSetChange[] = [];
  datastore.onChange((change) => changes.push(change));
  const logger = createRecordingLogger();
  const discovery = new KubernetesDiscovery({
    logger,
    kubeConfig: kubeConfigFor(api),
    poolName: 'qwen',
    poolNamespace: namespace,
    initialRetryDelayMilliseconds: 20,
    maximumRetryDelayMilliseconds: 200,
  });
  cleanups.push(() => discovery.stop());
  return { api, datastore, discovery, changes, logger };
}

const endpointNames = (datastore: Datastore) =>
  datastore
    .snapshot()
    .map((state) => `${state.endpoint.name}@${state.endpoint.key}`)
    .sort();

const podLists = (api: FakeKubernetesApiServer) =>
  api.requests.filter((request) => request.resource === 'pods' && !request.watch).length;

describe('KubernetesDiscovery', () => {
  it('lists the pool and its Ready pods, then marks the datastore synced', async () => {
    const { api, datastore, discovery } = await setup();
    api.apply('inferencepools', pool());
    api.apply(
      'pods',
      pod('vllm-1', { labels: { app: 'qwen', 'llm-d.ai/role': 'decode', 'llm-d.ai/engine-type': 'sglang' } }),
    );
    api.apply('pods', pod('vllm-2', { ready: false }));
    api.apply('pods', pod('vllm-3', { ip: undefined }));
    api.apply('pods', pod('vllm-4', { deleting: true }));
    api.apply('pods', pod('other-5', { labels: { app: 'other' } }));
    api.apply('pods', {
      ...pod('elsewhere-6'),
      metadata: { ...pod('elsewhere-6').metadata, namespace: 'other' },
    });

    await discovery.start(datastore);
    await datastore.whenSynced();

    expect(endpointNames(datastore)).toEqual(['vllm-1@10.0.0.1:8000']);
    const endpoint = datastore.get('10.0.0.1:8000')?.endpoint;
    expect(endpoint?.namespace).toBe(namespace);
    expect(endpoint?.role).toBe('decode');
    expect(endpoint?.engineType).toBe('sglang');
    expect(endpoint?.labels.app).toBe('qwen');
    // The pod watch is scoped by the pool's selector.
    const podList = api.requests.find((request) => request.resource === 'pods' && !request.watch);
    expect(podList?.query.labelSelector).toBe('app=qwen');
    const poolList = api.requests.find((request) => request.resource === 'inferencepools');
    expect(poolList?.query.fieldSelector).toBe('metadata.name=qwen');
  });

  it('follows pods becoming ready, unready and deleted', async () => {
    const { api, datastore, discovery, changes } = await setup();
    api.apply('inferencepools', pool());
    api.apply('pods', pod('vllm-1'));
    await discovery.start(datastore);
    await datastore.whenSynced();
    await vi.waitFor(() => expect(api.openWatches).toBe(2));

    api.apply('pods', pod('vllm-2', { ready: false }));
    api.apply('pods', pod('vllm-2', { ready: true }));
    await vi.waitFor(() =>
      expect(endpointNames(datastore)).toEqual(['vllm-1@10.0.0.1:8000', 'vllm-2@10.0.0.2:8000']),
    );

    api.apply('pods', pod('vllm-1', { ready: false }));
    await vi.waitFor(() => expect(endpointNames(datastore)).toEqual(['vllm-2@10.0.0.2:8000']));

    api.apply('pods', pod('vllm-2', { deleting: true }));
    await vi.waitFor(() => expect(datastore.size).toBe(0));

    api.apply('pods', pod('vllm-1'));
    api.delete('pods', namespace, 'vllm-2');
    await vi.waitFor(() => expect(endpointNames(datastore)).toEqual(['vllm-1@10.0.0.1:8000']));

    // A pod whose labels stop matching the selector leaves the pool (the watch reports DELETED).
    api.apply('pods', pod('vllm-1', { labels: { app: 'moved' } }));
    await vi.waitFor(() => expect(datastore.size).toBe(0));

    const flattened = changes.map((change) => ({
      added: change.added.map((endpoint) => endpoint.name),
      removed: change.removed.map((endpoint) => endpoint.name),
    }));
    expect(flattened).toEqual([
      { added: ['vllm-1'], removed: [] },
      { added: ['vllm-2'], removed: [] },
      { added: [], removed: ['vllm-1'] },
      { added: [], removed: ['vllm-2'] },
      { added: ['vllm-1'], removed: [] },
      { added: [], removed: ['vllm-1'] },
    ]);
  });

  it('makes one endpoint per pod and target port, named by rank, and follows port changes', async () => {
    const { api, datastore, discovery } = await setup();
    api.apply('inferencepools', pool({ app: 'qwen' }, [8000, 8001]));
    api.apply('pods', pod('wide-1'));
    api.apply('pods', pod('wide-2'));
    await discovery.start(datastore);
    await datastore.whenSynced();
    expect(endpointNames(datastore)).toEqual([
      'wide-1-rank-0@10.0.0.1:8000',
      'wide-1-rank-1@10.0.0.1:8001',
      'wide-2-rank-0@10.0.0.2:8000',
      'wide-2-rank-1@10.0.0.2:8001',
    ]);
    const listsBefore = podLists(api);

    api.apply('inferencepools', pool({ app: 'qwen' }, [9000]));
    await vi.waitFor(() =>
      expect(endpointNames(datastore)).toEqual(['wide-1@10.0.0.1:9000', 'wide-2@10.0.0.2:9000']),
    );
    // Same selector: endpoints are recomputed from the pods already known, without a relist.
    expect(podLists(api)).toBe(listsBefore);
  });

  it('relists the pods when the pool selector changes', async () => {
    const { api, datastore, discovery } = await setup();
    api.apply('inferencepools', pool({ app: 'qwen' }));
    api.apply('pods', pod('old-1'));
    api.apply('pods', pod('new-2', { labels: { app: 'qwen', track: 'canary' } }));
    api.apply('pods', pod('new-3', { labels: { app: 'llama' } }));
    await discovery.start(datastore);
    await datastore.whenSynced();
    expect(endpointNames(datastore)).toEqual(['new-2@10.0.0.2:8000', 'old-1@10.0.0.1:8000']);

    api.apply('inferencepools', pool({ app: 'qwen', track: 'canary' }));
    await vi.waitFor(() => expect(endpointNames(datastore)).toEqual(['new-2@10.0.0.2:8000']));
    api.apply('inferencepools', pool({ app: 'llama' }));
    await vi.waitFor(() => expect(endpointNames(datastore)).toEqual(['new-3@10.0.0.3:8000']));
    const selectors = api.requests
      .filter((request) => request.resource === 'pods' && !request.watch)
      .map((request) => request.query.labelSelector);
    expect(selectors).toEqual(['app=qwen', 'app=qwen,track=canary', 'app=llama']);
  });

  it('relists after a watch ERROR event with code 410 and recovers changes the watch never delivered', async () => {
    const { api, datastore, discovery, logger } = await setup();
    api.apply('inferencepools', pool());
    api.apply('pods', pod('vllm-1'));
    await discovery.start(datastore);
    await datastore.whenSynced();
    await vi.waitFor(() => expect(api.openWatches).toBe(2));
    const listsBefore = podLists(api);

    // Lost to compaction: only a relist can see this pod.
    api.apply('pods', pod('vllm-2'), { silent: true });
    api.sendWatchError(410);

    await vi.waitFor(() =>
      expect(endpointNames(datastore)).toEqual(['vllm-1@10.0.0.1:8000', 'vllm-2@10.0.0.2:8000']),
    );
    expect(podLists(api)).toBeGreaterThan(listsBefore);
    expect(logger.messages('info')).toContain('watch resourceVersion expired; relisting');
    expect(logger.messages('warn')).not.toContain('watch failed; relisting after a delay');
  });

  it('relists after an HTTP 410 Gone answer to a watch, and resumes watches after bookmarks', async () => {
    const { api, datastore, discovery, logger } = await setup();
    api.apply('inferencepools', pool());
    api.apply('pods', pod('vllm-1'));
    await discovery.start(datastore);
    await datastore.whenSynced();
    await vi.waitFor(() => expect(api.openWatches).toBe(2));

    api.sendBookmark();
    api.apply('pods', pod('vllm-2'));
    await vi.waitFor(() => expect(datastore.size).toBe(2));
    const watchesBefore = api.requests.filter((request) => request.watch).length;
    const listsBefore = podLists(api);
    // A normal end of the watch resumes from the last version, without listing.
    api.endWatches();
    await vi.waitFor(() =>
      expect(api.requests.filter((request) => request.watch).length).toBe(watchesBefore + 2),
    );
    expect(podLists(api)).toBe(listsBefore);
    const resumed = api.requests.filter((request) => request.watch && request.resource === 'pods').at(-1);
    expect(Number(resumed?.query.resourceVersion)).toBeGreaterThan(0);
    await vi.waitFor(() => expect(api.openWatches).toBe(2));

    api.apply('pods', pod('vllm-3'), { silent: true });
    api.failNextWatch(410);
    api.endWatches();
    await vi.waitFor(() => expect(datastore.size).toBe(3));
    expect(podLists(api)).toBeGreaterThan(listsBefore);
    expect(logger.messages('info')).toContain('watch resourceVersion expired; relisting');
    expect(logger.messages('warn')).toEqual([]);
  });

  it('empties the datastore when the pool is deleted and refills it when the pool returns', async () => {
    const { api, datastore, discovery } = await setup();
    api.apply('inferencepools', pool());
    api.apply('pods', pod('vllm-1'));
    await discovery.start(datastore);
    await datastore.whenSynced();
    expect(datastore.size).toBe(1);

    api.delete('inferencepools', namespace, 'qwen');
    await vi.waitFor(() => expect(datastore.size).toBe(0));
    expect(discovery.pool).toBeUndefined();

    api.apply('inferencepools', pool());
    await vi.waitFor(() => expect(endpointNames(datastore)).toEqual(['vllm-1@10.0.0.1:8000']));
  });

  it('stops watching on stop and lists afresh when started again', async () => {
    const { api, datastore, discovery } = await setup();
    api.apply('inferencepools', pool());
    api.apply('pods', pod('vllm-1'));
    await discovery.start(datastore);
    await datastore.whenSynced();
    await vi.waitFor(() => expect(api.openWatches).toBe(2));

    await discovery.stop();
    await vi.waitFor(() => expect(api.openWatches).toBe(0));
    api.apply('pods', pod('vllm-2'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(datastore.size).toBe(1);

    await discovery.start(datastore);
    await vi.waitFor(() =>
      expect(endpointNames(datastore)).toEqual(['vllm-1@10.0.0.1:8000', 'vllm-2@10.0.0.2:8000']),
    );
  });

  it('is not synced while the pool does not exist, and syncs once it is created', async () => {
    const { api, datastore, discovery } = await setup();
    api.apply('pods', pod('vllm-1'));
    await discovery.start(datastore);
    await vi.waitFor(() => expect(api.openWatches).toBe(1));
    expect(datastore.synced).toBe(false);

    api.apply('inferencepools', pool());
    await datastore.whenSynced();
    expect(endpointNames(datastore)).toEqual(['vllm-1@10.0.0.1:8000']);
  });

  it('backs off and relists when a watch fails', async () => {
    const { api, datastore, discovery, logger } = await setup();
    api.apply('inferencepools', pool());
    api.apply('pods', pod('vllm-1'));
    // Answer the first watch with a server error: discovery backs off and relists.
    api.failNextWatch(500);
    await discovery.start(datastore);
    await datastore.whenSynced();
    await vi.waitFor(() => expect(api.openWatches).toBe(2));
    const poolLists = api.requests.filter(
      (request) => request.resource === 'inferencepools' && !request.watch,
    );
    expect(poolLists.length).toBeGreaterThanOrEqual(2);
    expect(datastore.size).toBe(1);
    expect(logger.messages('warn')).toContain('watch failed; relisting after a delay');
  });
});
