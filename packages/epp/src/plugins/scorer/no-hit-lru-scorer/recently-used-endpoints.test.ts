import { describe, expect, it } from 'vitest';
import { RecentlyUsedEndpoints } from './recently-used-endpoints.js';

describe('RecentlyUsedEndpoints', () => {
  it('orders uses and forgets the least recently used beyond capacity', () => {
    const recent = new RecentlyUsedEndpoints(2);
    recent.touch('a:1');
    recent.touch('b:1');
    recent.touch('a:1');
    expect((recent.lastUse('a:1') as number) > (recent.lastUse('b:1') as number)).toBe(true);
    recent.touch('c:1');
    expect(recent.size).toBe(2);
    expect(recent.lastUse('b:1')).toBeUndefined();
    expect(recent.lastUse('a:1')).toBeDefined();
  });
});
