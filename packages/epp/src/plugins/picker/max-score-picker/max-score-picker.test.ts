import { describe, expect, it } from 'vitest';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import { createTestScheduler, createTestSchedulingEndpoint } from '../../../testing/index.js';
import { maxScorePickerPlugin } from './max-score-picker.js';

const handle = (random: () => number) => ({
  name: 'max-score-picker',
  logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child: () => handle(random).logger },
  now: () => 0,
  random,
  plugin: () => {
    throw new Error('unused');
  },
  endpoints: () => [],
  endpoint: () => undefined,
});

const [a, b, c] = [1, 2, 3].map((index) => createTestSchedulingEndpoint({ key: `10.2.0.${index}:8000` })) as [
  ReturnType<typeof createTestSchedulingEndpoint>,
  ReturnType<typeof createTestSchedulingEndpoint>,
  ReturnType<typeof createTestSchedulingEndpoint>,
];
const request = createSchedulingRequest();

describe('max-score-picker', () => {
  it('picks the highest total', () => {
    const picker = maxScorePickerPlugin.create(
      { maxNumOfEndpoints: 1 },
      handle(() => 0.5),
    );
    const picked = picker.pick?.(request, [
      { endpoint: a, score: 0.2 },
      { endpoint: b, score: 2.5 },
      { endpoint: c, score: 1.1 },
    ]);
    expect(picked).toEqual([b]);
  });

  it('breaks ties at random using the handle', () => {
    const scored = [
      { endpoint: a, score: 1 },
      { endpoint: b, score: 1 },
      { endpoint: c, score: 0 },
    ];
    expect(
      maxScorePickerPlugin
        .create(
          { maxNumOfEndpoints: 1 },
          handle(() => 0.9),
        )
        .pick?.(request, scored),
    ).toEqual([a]);
    expect(
      maxScorePickerPlugin
        .create(
          { maxNumOfEndpoints: 1 },
          handle(() => 0.1),
        )
        .pick?.(request, scored),
    ).toEqual([b]);
  });

  it('returns fallbacks in descending order with maxNumOfEndpoints', () => {
    const picker = maxScorePickerPlugin.create(
      { maxNumOfEndpoints: 2 },
      handle(() => 0.3),
    );
    expect(
      picker.pick?.(request, [
        { endpoint: a, score: 0.5 },
        { endpoint: b, score: 0.9 },
        { endpoint: c, score: 0.7 },
      ]),
    ).toEqual([b, c]);
    expect(picker.pick?.(request, [])).toEqual([]);
  });

  it('loads from YAML and names an invalid parameter', async () => {
    await expect(
      createTestScheduler({
        config: 'plugins: [{ type: max-score-picker, parameters: { maxNumOfEndpoints: 0 } }]',
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters\.maxNumOfEndpoints/);
  });
});
