/**
 * Datastore behaviour: set-change events, replaceAll semantics, snapshot caching, sync flag.
 */
import { createEndpoint } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { emptyEndpointMetrics } from '../plugin/endpoint-state.js';
import { Datastore, type EndpointSetChange } from './datastore.js';
import { createRecordingLogger } from './recording-logger.js';

const endpoint = (address: string, name?: string, labels: Record<string, string> = {}) =>
  createEndpoint({ address, port: 8000, ...(name ? { name } : {}), labels });

function recordChanges(datastore: Datastore) {
  const changes: Array<{ added: string[]; removed: string[] }> = [];
  const unsubscribe = datastore.onChange((change: EndpointSetChange) =>
    changes.push({
      added: change.added.map((item) => item.key),
      removed: change.removed.map((item) => item.key),
    }),
  );
  return { changes, unsubscribe };
}

describe('Datastore', () => {
  it('adds, replaces and removes endpoints, reporting only set changes', () => {
    const datastore = new Datastore();
    const { changes } = recordChanges(datastore);
    datastore.upsert(endpoint('10.0.0.1', 'pod-a'));
    datastore.upsert(endpoint('10.0.0.1', 'pod-a'));
    datastore.upsert(endpoint('10.0.0.2', 'pod-b'));
    expect(datastore.size).toBe(2);
    expect(datastore.get('10.0.0.1:8000')?.endpoint.name).toBe('pod-a');
    expect(datastore.get('10.0.0.1:8000')?.metrics).toBe(emptyEndpointMetrics);

    expect(datastore.remove('10.0.0.1:8000')).toBe(true);
    expect(datastore.remove('10.0.0.1:8000')).toBe(false);
    expect(datastore.get('10.0.0.1:8000')).toBeUndefined();
    expect(changes).toEqual([
      { added: ['10.0.0.1:8000'], removed: [] },
      { added: ['10.0.0.2:8000'], removed: [] },
      { added: [], removed: ['10.0.0.1:8000'] },
    ]);
  });

  it('replaceAll removes missing endpoints, keeps unchanged ones with their metrics, in one event', () => {
    const datastore = new Datastore();
    datastore.replaceAll([endpoint('10.0.0.1', 'a'), endpoint('10.0.0.2', 'b')]);
    datastore.updateMetrics('10.0.0.2:8000', { ...emptyEndpointMetrics, waitingQueueSize: 7, updateTime: 1 });
    const { changes } = recordChanges(datastore);

    datastore.replaceAll([endpoint('10.0.0.2', 'b'), endpoint('10.0.0.3', 'c')]);
    expect(changes).toEqual([{ added: ['10.0.0.3:8000'], removed: ['10.0.0.1:8000'] }]);
    expect(datastore.get('10.0.0.2:8000')?.metrics.waitingQueueSize).toBe(7);

    datastore.replaceAll([endpoint('10.0.0.2', 'b'), endpoint('10.0.0.3', 'c')]);
    expect(changes).toHaveLength(1);
  });

  it('treats a key reused by another pod as removed and added, and a label change as a silent update', () => {
    const datastore = new Datastore();
    datastore.upsert(endpoint('10.0.0.1', 'old-pod'));
    datastore.updateMetrics('10.0.0.1:8000', {
      ...emptyEndpointMetrics,
      runningRequestsSize: 3,
      updateTime: 5,
    });
    const { changes } = recordChanges(datastore);

    datastore.upsert(endpoint('10.0.0.1', 'old-pod', { 'llm-d.ai/role': 'prefill' }));
    expect(changes).toEqual([]);
    expect(datastore.get('10.0.0.1:8000')?.endpoint.role).toBe('prefill');
    expect(datastore.get('10.0.0.1:8000')?.metrics.runningRequestsSize).toBe(3);

    datastore.upsert(endpoint('10.0.0.1', 'new-pod'));
    expect(changes).toEqual([{ added: ['10.0.0.1:8000'], removed: ['10.0.0.1:8000'] }]);
    // The new server's metrics start empty: the old pod's numbers say nothing about it.
    expect(datastore.get('10.0.0.1:8000')?.metrics).toBe(emptyEndpointMetrics);
  });

  it('caches the snapshot until something changes, and never mutates a snapshot handed out', () => {
    const datastore = new Datastore();
    datastore.replaceAll([endpoint('10.0.0.1'), endpoint('10.0.0.2')]);
    const first = datastore.snapshot();
    expect(datastore.snapshot()).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    const stateBefore = first[0];

    expect(
      datastore.updateMetrics('10.0.0.1:8000', { ...emptyEndpointMetrics, kvCacheUsagePercent: 0.5 }),
    ).toBe(true);
    const second = datastore.snapshot();
    expect(second).not.toBe(first);
    expect(first[0]).toBe(stateBefore);
    expect(first[0]?.metrics.kvCacheUsagePercent).toBe(0);
    expect(second[0]?.metrics.kvCacheUsagePercent).toBe(0.5);
    expect(Object.isFrozen(second[0]?.metrics)).toBe(true);
    expect(datastore.snapshot()).toBe(second);
  });

  it('ignores metrics for endpoints no longer in the pool and fires no event for metric updates', () => {
    const datastore = new Datastore();
    datastore.upsert(endpoint('10.0.0.1'));
    const { changes } = recordChanges(datastore);
    expect(datastore.updateMetrics('10.0.0.1:8000', { ...emptyEndpointMetrics, updateTime: 1 })).toBe(true);
    expect(datastore.updateMetrics('10.0.0.9:8000', { ...emptyEndpointMetrics, updateTime: 1 })).toBe(false);
    expect(datastore.size).toBe(1);
    expect(changes).toEqual([]);
  });

  it('unsubscribes listeners and isolates a failing listener', () => {
    const logger = createRecordingLogger();
    const datastore = new Datastore({ logger });
    const { changes, unsubscribe } = recordChanges(datastore);
    datastore.onChange(() => {
      throw new Error('listener bug');
    });
    const after: string[] = [];
    datastore.onChange((change) => after.push(...change.added.map((item) => item.key)));
    datastore.upsert(endpoint('10.0.0.1'));
    unsubscribe();
    datastore.upsert(endpoint('10.0.0.2'));
    expect(changes).toHaveLength(1);
    expect(after).toEqual(['10.0.0.1:8000', '10.0.0.2:8000']);
    expect(logger.messages('error')).toEqual([
      'endpoint change listener failed',
      'endpoint change listener failed',
    ]);
  });

  it('reports synced once the discovery source says so', async () => {
    const datastore = new Datastore();
    expect(datastore.synced).toBe(false);
    let resolved = false;
    const waiting = datastore.whenSynced().then(() => {
      resolved = true;
    });
    await Promise.resolve();
    expect(resolved).toBe(false);
    datastore.markSynced();
    await waiting;
    expect(datastore.synced).toBe(true);
    await datastore.whenSynced();
  });
});
