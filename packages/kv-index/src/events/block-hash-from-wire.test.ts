import { describe, expect, it } from 'vitest';
import { blockHashFromWire } from './block-hash-from-wire.js';

describe('blockHashFromWire', () => {
  it('keeps unsigned integers and reinterprets signed ones as 64-bit patterns', () => {
    expect(blockHashFromWire(5)).toBe(5n);
    expect(blockHashFromWire(0x2cea_bcfa_e6d3_32ean)).toBe(0x2cea_bcfa_e6d3_32ean);
    expect(blockHashFromWire(-1)).toBe(0xffff_ffff_ffff_ffffn);
    expect(blockHashFromWire(-2n)).toBe(0xffff_ffff_ffff_fffen);
  });

  it('reads the last 8 bytes of a digest big-endian', () => {
    const sha256 = Buffer.from(`${'ab'.repeat(24)}2ceabcfae6d332ea`, 'hex');
    const xxhash = Buffer.from(`${'01'.repeat(8)}2ceabcfae6d332ea`, 'hex');
    expect(blockHashFromWire(sha256)).toBe(0x2cea_bcfa_e6d3_32ean);
    expect(blockHashFromWire(xxhash)).toBe(0x2cea_bcfa_e6d3_32ean);
    expect(blockHashFromWire(Uint8Array.of(1, 2))).toBe(0x0102n);
  });

  it('rejects values that cannot be hashes', () => {
    expect(blockHashFromWire(1.5)).toBeUndefined();
    expect(blockHashFromWire(2 ** 60)).toBeUndefined();
    expect(blockHashFromWire('12')).toBeUndefined();
    expect(blockHashFromWire(null)).toBeUndefined();
    expect(blockHashFromWire(new Uint8Array(0))).toBeUndefined();
  });
});
