import { describe, expect, it } from 'vitest';
import { definePlugin } from './define-plugin.js';
import { createPluginRegistry } from './plugin-registry.js';

const scorer = definePlugin({ type: 'some-scorer', create: () => ({ score: () => new Map() }) });
const producer = definePlugin({
  type: 'some-producer',
  defaultProducerFor: ['some-data'],
  create: () => ({ produces: ['some-data'], produce: () => {} }),
});

describe('createPluginRegistry', () => {
  it('looks types up and names the default producer of a data key', () => {
    const registry = createPluginRegistry([scorer, producer]);
    expect(registry.get('some-scorer')).toBe(scorer);
    expect(registry.has('nope')).toBe(false);
    expect(registry.defaultProducerFor('some-data')).toBe(producer);
    expect(registry.types()).toEqual(['some-scorer', 'some-producer']);
  });

  it('accepts the same definition twice but refuses two definitions of one type', () => {
    expect(createPluginRegistry([scorer, scorer]).types()).toEqual(['some-scorer']);
    const impostor = definePlugin({ type: 'some-scorer', create: () => ({}) });
    expect(() => createPluginRegistry([scorer, impostor])).toThrow(/"some-scorer" is registered twice/);
  });

  it('extends without changing the original (no global state)', () => {
    const base = createPluginRegistry([scorer]);
    const extended = base.with([producer]);
    expect(base.has('some-producer')).toBe(false);
    expect(extended.has('some-producer')).toBe(true);
  });
});
