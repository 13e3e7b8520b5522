import { LlmdError } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import {
  currentGeneration,
  entryField,
  holderId,
  parseEntryField,
  parseEntryValue,
  RedisKeyLayout,
  toDecimal,
  validateHolder,
  validateTier,
} from './redis-key-layout.js';

describe('redis key layout', () => {
  it('writes 64-bit keys in decimal under the prefix', () => {
    const layout = new RedisKeyLayout('p:');
    expect(layout.requestKey(18446744073709551615n)).toBe('p:rk:18446744073709551615');
    expect(layout.requestKey(-1n)).toBe('p:rk:18446744073709551615');
    expect(toDecimal(0n)).toBe('0');
    expect(layout.engineMapKey({ endpointKey: '10.0.0.1:8000', dataParallelRank: 2, groupIdx: null })).toBe(
      'p:ek:10.0.0.1:8000|2|-',
    );
  });

  it('parses entry fields from the right, so endpoint keys may contain the separator', () => {
    for (const endpointKey of ['10.0.0.1:8000', '[fd00::1]:8000', 'odd|name:1']) {
      const holder = { endpointKey, dataParallelRank: 3, groupIdx: 1 };
      expect(parseEntryField(entryField(holder, 'cpu'))).toEqual({
        holderId: holderId(holder),
        endpointKey,
        rankField: '3',
        tier: 'cpu',
      });
    }
    const rankless = { endpointKey: 'a:1', dataParallelRank: null, groupIdx: null };
    expect(parseEntryField(entryField(rankless, 'gpu'))?.rankField).toBe('-');
    expect(parseEntryField('garbage')).toBeUndefined();
    expect(parseEntryField('a|b')).toBeUndefined();
  });

  it('parses entry values and generations', () => {
    expect(parseEntryValue('3.1')).toEqual({ generation: '3.1', expiresAt: undefined });
    expect(parseEntryValue('0.0:1700000000000')).toEqual({ generation: '0.0', expiresAt: 1700000000000 });
    expect(parseEntryValue('0.0:x')).toBeUndefined();
    expect(currentGeneration({}, '0')).toBe('0.0');
    expect(currentGeneration({ '*': '4', '1': '2' }, '1')).toBe('4.2');
    expect(currentGeneration({ '*': '4', '1': '2' }, '0')).toBe('4.0');
  });

  it('rejects holders and tiers that cannot be encoded', () => {
    const codeOf = (action: () => void) => {
      try {
        action();
        return undefined;
      } catch (error) {
        return LlmdError.isInstance(error) ? error.code : 'other';
      }
    };
    expect(codeOf(() => validateHolder({ endpointKey: '', dataParallelRank: null, groupIdx: null }))).toBe(
      'invalid_argument',
    );
    expect(codeOf(() => validateHolder({ endpointKey: 'a:1', dataParallelRank: -1, groupIdx: null }))).toBe(
      'invalid_argument',
    );
    expect(codeOf(() => validateHolder({ endpointKey: 'a:1', dataParallelRank: 0, groupIdx: 1.5 }))).toBe(
      'invalid_argument',
    );
    expect(
      codeOf(() => validateHolder({ endpointKey: 'a:1', dataParallelRank: 0, groupIdx: 0 })),
    ).toBeUndefined();
    expect(codeOf(() => validateTier('gpu'))).toBeUndefined();
    expect(codeOf(() => validateTier('a|b'))).toBe('invalid_argument');
    expect(codeOf(() => validateTier('a,b'))).toBe('invalid_argument');
    expect(codeOf(() => validateTier(''))).toBe('invalid_argument');
  });
});
