import { describe, expect, it } from 'vitest';
import { isUsageLimitPolicy, type UsageLimitPolicy } from '../../../flowcontrol/flow-control-policies.js';
import { createTestScheduler } from '../../../testing/index.js';
import { createStaticUsageLimitPolicy, staticUsageLimitPolicyPlugin } from './static-usage-limit-policy.js';

describe('static-usage-limit-policy', () => {
  it('returns the same ceiling for every priority and saturation, 1.0 by default', () => {
    const policy = createStaticUsageLimitPolicy();
    for (const priority of [-10, 0, 7]) {
      for (const saturation of [0, 0.5, 1.3]) expect(policy.ceiling(saturation, priority)).toBe(1);
    }
    expect(createStaticUsageLimitPolicy(0.7).ceiling(0.2, 3)).toBe(0.7);
  });

  it('loads from YAML with threshold and default', async () => {
    const scheduler = await createTestScheduler({
      config: `
plugins:
  - type: static-usage-limit-policy
  - name: tight
    type: static-usage-limit-policy
    parameters:
      threshold: 0.6
`,
      plugins: [staticUsageLimitPolicyPlugin],
    });
    const byName = new Map(scheduler.plugins.all.map((plugin) => [plugin.name, plugin.behaviour]));
    const defaults = byName.get('static-usage-limit-policy');
    const tight = byName.get('tight');
    expect(defaults && isUsageLimitPolicy(defaults)).toBe(true);
    expect((defaults as unknown as UsageLimitPolicy).ceiling(0.5, 0)).toBe(1);
    expect((tight as unknown as UsageLimitPolicy).ceiling(0.5, 0)).toBe(0.6);
  });

  it('names the invalid parameter', async () => {
    await expect(
      createTestScheduler({
        config: 'plugins:\n  - type: static-usage-limit-policy\n    parameters: { threshold: -1 }\n',
        plugins: [staticUsageLimitPolicyPlugin],
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters\.threshold/);
    await expect(
      createTestScheduler({
        config: 'plugins:\n  - type: static-usage-limit-policy\n    parameters: { thresholds: 1 }\n',
        plugins: [staticUsageLimitPolicyPlugin],
      }),
    ).rejects.toThrow(/plugins\[0\]\.parameters/);
  });
});
