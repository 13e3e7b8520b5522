import { describe, expect, it } from 'vitest';
import { createTestScheduler } from '../../../testing/index.js';

describe('openai-parser', () => {
  it('loads when a config lists it under requestHandler.parsers', async () => {
    const config = `
plugins: [{ type: openai-parser }, { type: queue-scorer }]
requestHandler: { parsers: [{ pluginRef: openai-parser }] }
`;
    await expect(createTestScheduler({ config })).resolves.toBeDefined();
  });

  it('takes no parameters', async () => {
    await expect(
      createTestScheduler({ config: 'plugins: [{ type: openai-parser, parameters: { x: 1 } }]' }),
    ).rejects.toThrow(/plugins\[0\]\.parameters: plugin type "openai-parser" takes no parameters/);
  });
});
