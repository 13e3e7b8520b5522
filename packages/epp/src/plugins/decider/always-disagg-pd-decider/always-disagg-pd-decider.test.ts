import { describe, expect, it } from 'vitest';
import { isDisaggregationDecider } from '../../../plugin/plugin-interfaces.js';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import { createTestScheduler, createTestSchedulingEndpoint } from '../../../testing/index.js';
import { builtinPlugins } from '../../builtin-plugins.js';
import { alwaysDisaggPdDeciderPlugin } from './always-disagg-pd-decider.js';

const plugins = [alwaysDisaggPdDeciderPlugin].filter((definition) => !builtinPlugins.includes(definition));

describe('always-disagg-pd-decider', () => {
  it('approves every request, even without a body', () => {
    const decider = alwaysDisaggPdDeciderPlugin.create(undefined, undefined as never);
    if (!isDisaggregationDecider(decider)) throw new Error('not a decider');
    expect(decider.shouldDisaggregate(createSchedulingRequest(), createTestSchedulingEndpoint())).toBe(true);
  });

  it('loads from YAML and takes no parameters', async () => {
    await expect(
      createTestScheduler({ plugins, config: 'plugins: [{ type: always-disagg-pd-decider }]' }),
    ).resolves.toBeDefined();
    await expect(
      createTestScheduler({
        plugins,
        config: 'plugins: [{ type: always-disagg-pd-decider, parameters: { enabled: true } }]',
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters: plugin type "always-disagg-pd-decider" takes no parameters/);
  });
});
