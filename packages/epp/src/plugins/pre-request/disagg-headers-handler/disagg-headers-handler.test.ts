import { describe, expect, it } from 'vitest';
import { createTestScheduler } from '../../../testing/index.js';

describe('disagg-headers-handler', () => {
  it('loads from an older P/D config with a deprecation warning naming the replacement', async () => {
    const warnings: string[] = [];
    const logger = {
      trace() {},
      debug() {},
      info() {},
      warn: (_fields: unknown, message?: string) => void warnings.push(message ?? ''),
      error() {},
      child: () => logger,
    };
    await createTestScheduler({
      logger,
      config:
        'plugins: [{ type: disagg-headers-handler, parameters: { prefillProfile: prefill } }, { type: queue-scorer }]',
    });
    expect(warnings).toContain(
      'plugin type "disagg-headers-handler" is deprecated; use "disagg-profile-handler"',
    );
  });
});
