import type { Logger } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import { createTestEndpointState, createTestScheduler } from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { byLabelSelectorPlugin } from './by-label-selector.js';

const plugins = [byLabelSelectorPlugin].filter((definition) => !builtinPlugins.includes(definition));

/** Records warning messages; the scheduler logs through this interface only. */
function recordingLogger(warnings: string[]): Logger {
  const logger: Logger = {
    trace: () => {},
    debug: () => {},
    info: () => {},
    warn: (_fields, message) => warnings.push(message ?? ''),
    error: () => {},
    child: () => logger,
  };
  return logger;
}

describe('by-label-selector (deprecated)', () => {
  it('filters like label-selector-filter and warns that it is deprecated', async () => {
    const warnings: string[] = [];
    const scheduler = await createTestScheduler({
      plugins,
      logger: recordingLogger(warnings),
      config: `
plugins:
- type: by-label-selector
  parameters:
    matchExpressions: [{ key: zone, operator: NotIn, values: [east] }]
`,
    });
    expect(
      warnings.some((warning) =>
        /"by-label-selector" is deprecated; use "label-selector-filter"/.test(warning),
      ),
    ).toBe(true);
    const endpoints = [
      createTestEndpointState({ key: '10.0.2.1:8000', labels: { zone: 'east' } }),
      createTestEndpointState({ key: '10.0.2.2:8000', labels: { zone: 'west' } }),
    ];
    for (let round = 0; round < 5; round++) {
      const outcome = await scheduler.schedule(createSchedulingRequest(), endpoints);
      expect(outcome.ok && outcome.result.primary.endpoint.key).toBe('10.0.2.2:8000');
    }
  });

  it('rejects invalid selectors naming the parameter', async () => {
    await expect(
      createTestScheduler({
        plugins,
        config:
          'plugins: [{ type: by-label-selector, parameters: { matchExpressions: [{ key: a, operator: Exists, values: [x] }] } }]',
      }),
    ).rejects.toThrow(
      /plugins\[0\]\.parameters\.matchExpressions\[0\]\.values: operator Exists takes no values/,
    );
  });
});
