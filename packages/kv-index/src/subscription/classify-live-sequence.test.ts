import { describe, expect, it } from 'vitest';
import { classifyLiveSequence } from './classify-live-sequence.js';

describe('classifyLiveSequence', () => {
  it('recognises the first batch, the next one and gaps', () => {
    expect(classifyLiveSequence({ lastDelivered: null, lastReceived: null }, 7n)).toBe('first');
    expect(classifyLiveSequence({ lastDelivered: 7n, lastReceived: 7n }, 8n)).toBe('next');
    expect(classifyLiveSequence({ lastDelivered: 7n, lastReceived: 7n }, 10n)).toBe('gap');
  });

  it('reads a live stream going backwards as a restart', () => {
    expect(classifyLiveSequence({ lastDelivered: 7n, lastReceived: 7n }, 0n)).toBe('restart');
    expect(classifyLiveSequence({ lastDelivered: 7n, lastReceived: 7n }, 7n)).toBe('restart');
    expect(classifyLiveSequence({ lastDelivered: 0n, lastReceived: 0n }, 0n)).toBe('restart');
  });

  it('drops live batches a replay already delivered', () => {
    // A gap at 10 replayed 6…12, so live 11 and 12 arrive after they were delivered.
    expect(classifyLiveSequence({ lastDelivered: 12n, lastReceived: 10n }, 11n)).toBe('duplicate');
    expect(classifyLiveSequence({ lastDelivered: 12n, lastReceived: 11n }, 12n)).toBe('duplicate');
    expect(classifyLiveSequence({ lastDelivered: 12n, lastReceived: 12n }, 13n)).toBe('next');
  });

  it('expects 0 after a restart', () => {
    expect(classifyLiveSequence({ lastDelivered: -1n, lastReceived: 0n }, 1n)).toBe('gap');
    expect(classifyLiveSequence({ lastDelivered: -1n, lastReceived: null }, 0n)).toBe('next');
  });
});
