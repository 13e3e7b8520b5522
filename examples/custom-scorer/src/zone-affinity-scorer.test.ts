import { readFile } from 'node:fs/promises';
import { chatCompletionBody, createSchedulingRequest } from '@llmd/epp';
import { createTestEndpointState, createTestScheduler } from '@llmd/epp/testing';
import { describe, expect, it } from 'vitest';
import { zoneAffinityScorerPlugin } from './zone-affinity-scorer.js';

const zone = 'topology.kubernetes.io/zone';
const pool = [
  createTestEndpointState({ key: '10.1.0.1:8000', labels: { [zone]: 'a' } }),
  createTestEndpointState({
    key: '10.1.0.2:8000',
    labels: { [zone]: 'b' },
    metrics: { waitingQueueSize: 1 },
  }),
];
const request = (clientZone: string) =>
  createSchedulingRequest({
    headers: { 'x-client-zone': clientZone },
    body: chatCompletionBody('m', [{ role: 'user', content: 'hi' }]),
  });

describe('zone-affinity-scorer (third-party plugin from YAML)', () => {
  it('registers, loads from the example YAML and steers requests to the client zone', async () => {
    const config = await readFile(new URL('./endpoint-picker-config.yaml', import.meta.url), 'utf8');
    const scheduler = await createTestScheduler({ config, plugins: [zoneAffinityScorerPlugin] });
    // Zone b is busier (queue 1 vs 0) but zone affinity (weight 3) outweighs the queue scorer.
    const outcome = await scheduler.schedule(request('b'), pool);
    expect(outcome.ok && outcome.result.primary.endpoint.key).toBe('10.1.0.2:8000');
    const scores = outcome.ok
      ? outcome.result.profileResults.get('default')?.scoresByScorer.get('zone-affinity-scorer')
      : undefined;
    expect(Object.fromEntries(scores ?? [])).toEqual({ '10.1.0.1:8000': 0.2, '10.1.0.2:8000': 1 });
  });

  it('fails at startup on a misspelt parameter, naming its path', async () => {
    const config = 'plugins:\n- type: zone-affinity-scorer\n  parameters: { otherZoneScor: 0.1 }\n';
    await expect(createTestScheduler({ config, plugins: [zoneAffinityScorerPlugin] })).rejects.toThrow(
      /plugins\[0\]\.parameters/,
    );
  });

  it('is unknown without registration (clear startup error naming the type)', async () => {
    await expect(
      createTestScheduler({ config: 'plugins: [{ type: zone-affinity-scorer }]' }),
    ).rejects.toThrow(/unknown plugin type "zone-affinity-scorer"/);
  });
});
