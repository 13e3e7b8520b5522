/**
 * TEST HELPER, not part of the package's public API. A tiny stand-in for the Kubernetes API server,
 * used because no real API server can run in this test environment. It speaks just enough of the
 * list/watch protocol for discovery tests:
 *
 * - `GET /api/v1/namespaces/{ns}/pods` and `GET /apis/{group}/{version}/namespaces/{ns}/{plural}`
 *   list objects with `metadata.resourceVersion` on the list; `labelSelector` (`k=v,…`) and
 *   `fieldSelector` (`metadata.name=…`) filter;
 * - `?watch=true&resourceVersion=N` replays the events after N, then streams newline-delimited JSON
 *   events (`ADDED`/`MODIFIED`/`DELETED`/`BOOKMARK`/`ERROR`). Like the real watch cache, an object
 *   entering or leaving a label selector is seen as `ADDED` / `DELETED`;
 * - a watch from a version older than the compacted history gets an `ERROR` event with code 410,
 *   and tests can force an HTTP 410 response or an `ERROR` event on open watches.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are arbitrary JSON here
type KubernetesJson = Record<string, any>;

interface StoredObject {
  readonly resource: string;
  readonly namespace: string;
  readonly object: KubernetesJson;
}

interface HistoryEvent {
  readonly resourceVersion: number;
  readonly resource: string;
  readonly namespace: string;
  readonly previous: KubernetesJson | undefined;
  /** Undefined for a deletion. */
  readonly current: KubernetesJson | undefined;
}

interface Selectors {
  readonly labels: ReadonlyArray<readonly [string, string]>;
  readonly fields: ReadonlyArray<readonly [string, string]>;
}

interface OpenWatch {
  readonly resource: string;
  readonly namespace: string;
  readonly selectors: Selectors;
  readonly response: ServerResponse;
}

export interface RecordedRequest {
  readonly resource: string;
  readonly watch: boolean;
  readonly query: Readonly<Record<string, string>>;
}

export interface FakeKubernetesApiServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Every list and watch request, in order. */
  readonly requests: ReadonlyArray<RecordedRequest>;
  /**
   * Creates or replaces an object (`resource` is the plural: `pods`, `inferencepools`). `silent`
   * changes reach no open watch and compact the history: events lost to compaction, which only a
   * relist can recover.
   */
  apply(resource: string, object: KubernetesJson, options?: { silent?: boolean }): void;
  delete(resource: string, namespace: string, name: string): void;
  /** Forgets history: watches resuming from any version up to now get an `ERROR` 410 event. */
  compact(): void;
  /** Sends `ERROR` with this code (default 410) on every open watch and ends them. */
  sendWatchError(code?: number): void;
  /** Answers the next watch request with this HTTP status (e.g. 410) instead of a stream. */
  failNextWatch(status: number): void;
  /** Sends a `BOOKMARK` with the current resourceVersion on every open watch. */
  sendBookmark(): void;
  /** Ends every open watch normally (as the server does after `timeoutSeconds`). */
  endWatches(): void;
  readonly openWatches: number;
  close(): Promise<void>;
}

function parseSelectors(query: URLSearchParams): Selectors {
  const parse = (text: string | null) =>
    (text ?? '')
      .split(',')
      .filter((part) => part !== '')
      .map((part) => {
        const [key, value] = part.split(/==?/, 2) as [string, string | undefined];
        return [key.trim(), (value ?? '').trim()] as const;
      });
  return { labels: parse(query.get('labelSelector')), fields: parse(query.get('fieldSelector')) };
}

function fieldValue(object: KubernetesJson, path: string): unknown {
  let value: unknown = object;
  for (const part of path.split('.')) value = (value as KubernetesJson | undefined)?.[part];
  return value;
}

function matchesSelectors(object: KubernetesJson | undefined, selectors: Selectors): boolean {
  if (!object) return false;
  const labels = (object.metadata?.labels ?? {}) as Record<string, string>;
  for (const [key, value] of selectors.labels) if (labels[key] !== value) return false;
  for (const [path, value] of selectors.fields) if (fieldValue(object, path) !== value) return false;
  return true;
}

/** `/api/v1/namespaces/{ns}/{plural}` or `/apis/{group}/{version}/namespaces/{ns}/{plural}`. */
function parsePath(pathname: string): { namespace: string; resource: string } | undefined {
  const match = /^\/(?:api\/v1|apis\/[^/]+\/[^/]+)\/namespaces\/([^/]+)\/([^/]+)$/.exec(pathname);
  return match ? { namespace: match[1] as string, resource: match[2] as string } : undefined;
}

const listKinds: Readonly<Record<string, string>> = { pods: 'PodList', inferencepools: 'InferencePoolList' };

export async function startFakeKubernetesApiServer(): Promise<FakeKubernetesApiServer> {
  const objects = new Map<string, StoredObject>();
  const history: HistoryEvent[] = [];
  const watches = new Set<OpenWatch>();
  const requests: RecordedRequest[] = [];
  let resourceVersion = 1;
  /** Watches must start after this version; older ones have been compacted away. */
  let compactedThrough = 0;
  let nextWatchStatus: number | undefined;

  const storageKey = (resource: string, namespace: string, name: string) =>
    `${resource}/${namespace}/${name}`;

  const writeEvent = (response: ServerResponse, type: string, object: KubernetesJson) => {
    response.write(`${JSON.stringify({ type, object })}\n`);
  };

  /** What a watcher sees for one change, given its selectors. */
  const eventFor = (watch: OpenWatch, event: HistoryEvent): [string, KubernetesJson] | undefined => {
    if (event.resource !== watch.resource || event.namespace !== watch.namespace) return undefined;
    const before = matchesSelectors(event.previous, watch.selectors);
    const after = matchesSelectors(event.current, watch.selectors);
    if (after) return [before ? 'MODIFIED' : 'ADDED', event.current as KubernetesJson];
    if (before) {
      const last = event.current ?? event.previous;
      return [
        'DELETED',
        { ...last, metadata: { ...last?.metadata, resourceVersion: String(event.resourceVersion) } },
      ];
    }
    return undefined;
  };

  const record = (event: HistoryEvent) => {
    history.push(event);
    // Bounded, like the API server's watch cache.
    if (history.length > 10_000) compactedThrough = (history.shift() as HistoryEvent).resourceVersion;
    for (const watch of watches) {
      const delivered = eventFor(watch, event);
      if (delivered) writeEvent(watch.response, delivered[0], delivered[1]);
    }
  };

  const sendStatus = (response: ServerResponse, code: number, message: string) => {
    response.writeHead(code, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code }));
  };

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const target = parsePath(url.pathname);
    if (request.method !== 'GET' || !target) {
      sendStatus(response, 404, `${request.method} ${url.pathname} is not served by the fake API server`);
      return;
    }
    const watching = url.searchParams.get('watch') === 'true';
    requests.push({
      resource: target.resource,
      watch: watching,
      query: Object.fromEntries(url.searchParams),
    });
    const selectors = parseSelectors(url.searchParams);

    if (!watching) {
      const items = [...objects.values()]
        .filter(
          (stored) =>
            stored.resource === target.resource &&
            stored.namespace === target.namespace &&
            matchesSelectors(stored.object, selectors),
        )
        .map((stored) => stored.object);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          apiVersion: 'v1',
          kind: listKinds[target.resource] ?? 'List',
          metadata: { resourceVersion: String(resourceVersion) },
          items,
        }),
      );
      return;
    }

    if (nextWatchStatus !== undefined) {
      const status = nextWatchStatus;
      nextWatchStatus = undefined;
      sendStatus(response, status, status === 410 ? 'too old resource version' : 'forced failure');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    response.flushHeaders();
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    if (from < compactedThrough) {
      writeEvent(response, 'ERROR', {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        message: `too old resource version: ${from} (${compactedThrough})`,
        reason: 'Expired',
        code: 410,
      });
      response.end();
      return;
    }
    const watch: OpenWatch = { resource: target.resource, namespace: target.namespace, selectors, response };
    for (const event of history) {
      if (event.resourceVersion <= from) continue;
      const delivered = eventFor(watch, event);
      if (delivered) writeEvent(response, delivered[0], delivered[1]);
    }
    watches.add(watch);
    response.on('close', () => watches.delete(watch));
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get openWatches() {
      return watches.size;
    },
    apply(resource, object, options = {}) {
      const namespace: string = object.metadata?.namespace ?? 'default';
      const name: string = object.metadata.name;
      const key = storageKey(resource, namespace, name);
      resourceVersion++;
      const stored: KubernetesJson = structuredClone(object);
      stored.metadata = { ...stored.metadata, namespace, resourceVersion: String(resourceVersion) };
      const previous = objects.get(key)?.object;
      objects.set(key, { resource, namespace, object: stored });
      if (options.silent) {
        history.length = 0;
        compactedThrough = resourceVersion;
      } else record({ resourceVersion, resource, namespace, previous, current: stored });
    },
    delete(resource, namespace, name) {
      const key = storageKey(resource, namespace, name);
      const previous = objects.get(key)?.object;
      if (!previous) return;
      objects.delete(key);
      resourceVersion++;
      record({ resourceVersion, resource, namespace, previous, current: undefined });
    },
    compact() {
      history.length = 0;
      compactedThrough = resourceVersion;
    },
    sendWatchError(code = 410) {
      for (const watch of watches) {
        writeEvent(watch.response, 'ERROR', { kind: 'Status', apiVersion: 'v1', status: 'Failure', code });
        watch.response.end();
      }
      watches.clear();
    },
    failNextWatch(status) {
      nextWatchStatus = status;
    },
    sendBookmark() {
      for (const watch of watches) {
        writeEvent(watch.response, 'BOOKMARK', { metadata: { resourceVersion: String(resourceVersion) } });
      }
    },
    endWatches() {
      for (const watch of watches) watch.response.end();
      watches.clear();
    },
    async close() {
      for (const watch of watches) watch.response.end();
      watches.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
