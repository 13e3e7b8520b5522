import { describe, expect, it } from 'vitest';
import { encodeCanonicalCbor } from './cbor-writer.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('canonical CBOR', () => {
  it.each([
    [0, '00'],
    [23, '17'],
    [24, '1818'],
    [255, '18ff'],
    [256, '190100'],
    [65535, '19ffff'],
    [65536, '1a00010000'],
    [4294967295, '1affffffff'],
    [4294967296, '1b0000000100000000'],
    [-1, '20'],
    [-24, '37'],
    [-25, '3818'],
    [-257, '390100'],
  ])('encodes the integer %d in its shortest form', (value, expected) => {
    expect(hex(encodeCanonicalCbor(value))).toBe(expected);
  });

  it('encodes 64-bit bigints at the boundaries', () => {
    expect(hex(encodeCanonicalCbor(0xcbf29ce484222325n))).toBe('1bcbf29ce484222325');
    expect(hex(encodeCanonicalCbor(2n ** 64n - 1n))).toBe('1bffffffffffffffff');
    expect(hex(encodeCanonicalCbor(23n))).toBe('17');
    expect(hex(encodeCanonicalCbor(-(2n ** 64n)))).toBe('3bffffffffffffffff');
    expect(() => encodeCanonicalCbor(2n ** 64n)).toThrow(/exceeds 64 bits/);
  });

  it('encodes text as UTF-8 with byte (not code unit) lengths', () => {
    expect(hex(encodeCanonicalCbor('0'))).toBe('6130');
    expect(hex(encodeCanonicalCbor(''))).toBe('60');
    expect(hex(encodeCanonicalCbor('é'))).toBe('62c3a9');
    expect(hex(encodeCanonicalCbor('🦙'))).toBe('64f09fa699');
    // 8 three-byte characters: the provisional head is 2 bytes, the final one 1+1.
    expect(hex(encodeCanonicalCbor('種子種子種子種子'))).toBe(`7818${'e7a8aee5ad90'.repeat(4)}`);
    const long = 'a'.repeat(300);
    expect(hex(encodeCanonicalCbor(long))).toBe(`79012c${'61'.repeat(300)}`);
  });

  it('encodes arrays, bytes, null and booleans', () => {
    expect(hex(encodeCanonicalCbor([1, [2, 3], null, true, false]))).toBe('8501820203f6f5f4');
    expect(hex(encodeCanonicalCbor(new Uint8Array(32)))).toBe(`5820${'00'.repeat(32)}`);
    expect(hex(encodeCanonicalCbor(Array.from({ length: 24 }, () => 0)))).toBe(`9818${'00'.repeat(24)}`);
  });

  it('sorts map keys length-first, then bytewise', () => {
    expect(hex(encodeCanonicalCbor({ bb: 1, a: 2, c: 3 }))).toBe('a3616102616303626262' + '01');
    expect(hex(encodeCanonicalCbor(new Map([['Hash', 'x']])))).toBe('a164486173686178');
  });

  it('rejects non-integer numbers', () => {
    expect(() => encodeCanonicalCbor(1.5)).toThrow(/integers only/);
  });
});
