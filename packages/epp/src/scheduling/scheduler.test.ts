import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { definePlugin } from '../plugin/define-plugin.js';
import { createTestEndpointState, createTestScheduler } from '../testing/index.js';
import { createSchedulingRequest } from './create-scheduling-request.js';

/** Scores each endpoint by a label value, so tests control scores exactly. */
const labelScorer = definePlugin({
  type: 'label-scorer',
  parameters: z.object({ label: z.string() }).strict(),
  create: ({ label }) => ({
    score: (_request, endpoints) =>
      new Map(endpoints.map((endpoint) => [endpoint, Number(endpoint.endpoint.labels[label])])),
  }),
});
const throwingScorer = definePlugin({
  type: 'throwing-scorer',
  create: () => ({
    score: () => {
      throw new Error('boom');
    },
  }),
});
const dropAllFilter = definePlugin({ type: 'drop-all-filter', create: () => ({ filter: () => [] }) });
const slowProducer = definePlugin({
  type: 'slow-producer',
  create: () => ({
    produces: ['slow'],
    produceTimeoutMilliseconds: 20,
    produce: () => new Promise<void>(() => {}),
  }),
});

const plugins = [labelScorer, throwingScorer, dropAllFilter, slowProducer];
const endpoints = [
  createTestEndpointState({ key: '10.0.0.1:8000', labels: { a: '0.2', b: '0.9' } }),
  createTestEndpointState({ key: '10.0.0.2:8000', labels: { a: '0.8', b: '0.1' } }),
  createTestEndpointState({ key: '10.0.0.3:8000', labels: { a: '5', b: '-3' } }),
];

describe('Scheduler', () => {
  it('picks the highest weighted sum of clamped scores', async () => {
    const scheduler = await createTestScheduler({
      plugins,
      config: `
plugins:
- { name: a, type: label-scorer, parameters: { label: a } }
- { name: b, type: label-scorer, parameters: { label: b } }
- { type: max-score-picker, parameters: { maxNumOfEndpoints: 3 } }
schedulingProfiles:
- name: default
  plugins: [{ pluginRef: a, weight: 1 }, { pluginRef: b, weight: 2 }, { pluginRef: max-score-picker }]
`,
    });
    const outcome = await scheduler.schedule(createSchedulingRequest(), endpoints);
    if (!outcome.ok) throw new Error(outcome.message);
    // 10.0.0.1: 0.2 + 2·0.9 = 2.0; 10.0.0.2: 0.8 + 0.2 = 1.0; 10.0.0.3: clamp(5)=1 + 2·clamp(-3)=0 → 1.0.
    expect(outcome.result.primary.endpoint.key).toBe('10.0.0.1:8000');
    expect(outcome.result.fallbacks).toHaveLength(2);
    const totals = outcome.result.profileResults.get('default')?.totals;
    expect(totals?.get('10.0.0.1:8000')).toBeCloseTo(2.0);
    expect(totals?.get('10.0.0.3:8000')).toBeCloseTo(1.0);
  });

  it('answers 503 rejected-no-endpoints for an empty pool', async () => {
    const scheduler = await createTestScheduler({
      plugins,
      config: 'plugins: [{ type: label-scorer, parameters: { label: a } }]',
    });
    expect(await scheduler.schedule(createSchedulingRequest(), [])).toMatchObject({
      ok: false,
      status: 503,
      dropReason: 'rejected-no-endpoints',
    });
  });

  it('answers 429 rejected-saturated when filters remove every endpoint', async () => {
    const scheduler = await createTestScheduler({ plugins, config: 'plugins: [{ type: drop-all-filter }]' });
    expect(await scheduler.schedule(createSchedulingRequest(), endpoints)).toMatchObject({
      ok: false,
      status: 429,
      dropReason: 'rejected-saturated',
    });
  });

  it('contains a throwing scorer and a producer that times out; the request is still scheduled', async () => {
    const failures: string[] = [];
    const logger = {
      trace() {},
      debug() {},
      info() {},
      warn() {},
      error: (fields: Record<string, unknown>) => void failures.push(String(fields.plugin)),
      child() {
        return logger;
      },
    };
    const scheduler = await createTestScheduler({
      plugins,
      logger,
      config: `
plugins:
- { type: throwing-scorer }
- { type: slow-producer }
- { name: a, type: label-scorer, parameters: { label: a } }
schedulingProfiles:
- name: default
  plugins: [{ pluginRef: throwing-scorer }, { pluginRef: a }]
`,
    });
    const outcome = await scheduler.schedule(createSchedulingRequest(), endpoints);
    expect(outcome.ok && outcome.result.primary.endpoint.key).toBe('10.0.0.3:8000');
    expect(failures).toEqual(['slow-producer/slow-producer', 'throwing-scorer/throwing-scorer']);
  });

  it('spreads ties across endpoints using the injected random source', async () => {
    const values = [0.1, 0.9];
    let call = 0;
    const scheduler = await createTestScheduler({
      plugins,
      random: () => values[call++ % values.length] as number,
      config: 'plugins: [{ type: label-scorer, parameters: { label: same } }]',
    });
    const tied = [
      createTestEndpointState({ key: '10.0.1.1:8000', labels: { same: '1' } }),
      createTestEndpointState({ key: '10.0.1.2:8000', labels: { same: '1' } }),
    ];
    const first = await scheduler.schedule(createSchedulingRequest(), tied);
    const second = await scheduler.schedule(createSchedulingRequest(), tied);
    expect(first.ok && first.result.primary.endpoint.key).toBe('10.0.1.2:8000');
    expect(second.ok && second.result.primary.endpoint.key).toBe('10.0.1.1:8000');
  });
});
