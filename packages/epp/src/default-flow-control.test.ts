import { createEndpoint } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { StaticDiscovery } from './datalayer/static-discovery.js';
import { createDefaultFlowControl } from './default-flow-control.js';
import { createEndpointPicker } from './endpoint-picker.js';
import { emptyEndpointMetrics } from './plugin/endpoint-state.js';

const config = `
featureGates: [flowControl]
plugins: [{ type: queue-scorer }]
flowControl:
  defaultRequestTTL: 300ms
  priorityBands:
  - { priority: 0, maxRequests: 2 }
`;
const body = new TextEncoder().encode(JSON.stringify({ model: 'm', prompt: 'hello' }));
const request = () => ({
  method: 'POST',
  path: '/v1/completions',
  headers: {},
  body,
  signal: new AbortController().signal,
});

async function pickerWithQueue(waitingQueueSize: number) {
  const picker = await createEndpointPicker({
    config,
    discovery: new StaticDiscovery({ endpoints: ['10.0.0.1:8000'] }),
    scrapeMetrics: false,
    createFlowControl: createDefaultFlowControl,
  });
  await picker.start();
  const setQueue = (size: number) =>
    picker.datastore.updateMetrics('10.0.0.1:8000', {
      ...emptyEndpointMetrics,
      waitingQueueSize: size,
      updateTime: Date.now(),
    });
  setQueue(waitingQueueSize);
  return { picker, setQueue };
}

describe('flow control behind the flowControl feature gate', () => {
  it('dispatches at once while the pool is below saturation', async () => {
    const { picker } = await pickerWithQueue(0);
    expect((await picker.pipeline.handle(request())).kind).toBe('route');
    await picker.close();
  });

  it('holds requests while saturated, dispatches when load drops, and rejects beyond band capacity', async () => {
    const { picker, setQueue } = await pickerWithQueue(50);
    const first = picker.pipeline.handle(request());
    const second = picker.pipeline.handle(request());
    // The band holds two; the third is over capacity.
    expect(await picker.pipeline.handle(request())).toMatchObject({
      kind: 'reject',
      status: 429,
      dropReason: 'rejected-saturated',
    });
    let settled = false;
    void first.then(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    setQueue(0);
    expect((await first).kind).toBe('route');
    expect((await second).kind).toBe('route');
    await picker.close();
  });

  it('expires a queued request after its TTL with rejected-ttl-expired', async () => {
    const { picker } = await pickerWithQueue(50);
    expect(await picker.pipeline.handle(request())).toMatchObject({
      kind: 'reject',
      status: 429,
      dropReason: 'rejected-ttl-expired',
    });
    await picker.close();
  });

  it('queues while the pool is empty and dispatches when a pod becomes ready (scale from zero)', async () => {
    const picker = await createEndpointPicker({
      config,
      discovery: new StaticDiscovery({ endpoints: [] }),
      scrapeMetrics: false,
      createFlowControl: createDefaultFlowControl,
    });
    await picker.start();
    const pending = picker.pipeline.handle(request());
    await new Promise((resolve) => setTimeout(resolve, 30));
    picker.datastore.upsert(createEndpoint({ address: '10.0.0.9', port: 8000 }));
    picker.datastore.updateMetrics('10.0.0.9:8000', { ...emptyEndpointMetrics, updateTime: Date.now() });
    expect(await pending).toMatchObject({ kind: 'route', targets: ['10.0.0.9:8000'] });
    await picker.close();
  });

  it('answers queued requests with rejected-shutting-down on close', async () => {
    const { picker } = await pickerWithQueue(50);
    const pending = picker.pipeline.handle(request());
    await picker.close();
    expect(await pending).toMatchObject({
      kind: 'reject',
      status: 503,
      dropReason: 'rejected-shutting-down',
    });
  });
});
