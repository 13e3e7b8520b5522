import { decode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { MsgpackWriter } from './msgpack-writer.js';

function encodeInteger(value: number | bigint): string {
  const writer = new MsgpackWriter(1);
  writer.writeInteger(value);
  return Buffer.from(writer.bytes()).toString('hex');
}

describe('MsgpackWriter', () => {
  it('writes integers in the shortest form at every boundary', () => {
    expect(encodeInteger(0)).toBe('00');
    expect(encodeInteger(127)).toBe('7f');
    expect(encodeInteger(128)).toBe('cc80');
    expect(encodeInteger(255)).toBe('ccff');
    expect(encodeInteger(256)).toBe('cd0100');
    expect(encodeInteger(65_535)).toBe('cdffff');
    expect(encodeInteger(65_536)).toBe('ce00010000');
    expect(encodeInteger(0xffff_ffff)).toBe('ceffffffff');
    expect(encodeInteger(0x1_0000_0000)).toBe('cf0000000100000000');
    expect(encodeInteger(0xffff_ffff_ffff_ffffn)).toBe('cfffffffffffffffff');
    expect(encodeInteger(-1)).toBe('ff');
    expect(encodeInteger(-32)).toBe('e0');
    expect(encodeInteger(-33)).toBe('d0df');
    expect(encodeInteger(-128)).toBe('d080');
    expect(encodeInteger(-129)).toBe('d1ff7f');
    expect(encodeInteger(-32_769)).toBe('d2ffff7fff');
    expect(encodeInteger(-0x8000_0001)).toBe('d3ffffffff7fffffff');
    expect(encodeInteger(5n)).toBe('05');
    expect(() => encodeInteger(1n << 64n)).toThrow(/64-bit/);
    expect(() => encodeInteger(1.5)).toThrow(/integer expected/);
  });

  it('picks str8/str16 and array16 heads like msgspec and grows its buffer', () => {
    const writer = new MsgpackWriter(1);
    const medium = 'x'.repeat(40);
    const long = 'y'.repeat(300);
    writer.writeArrayHeader(3);
    writer.writeString(medium);
    writer.writeString(long);
    writer.writeBinary(new Uint8Array([1, 2, 3]));
    const bytes = writer.bytes();
    expect(Buffer.from(bytes.subarray(0, 3)).toString('hex')).toBe('93d928');
    expect(decode(bytes)).toEqual([medium, long, new Uint8Array([1, 2, 3])]);
  });

  it('encodes open-ended values (extra keys) structurally', () => {
    const writer = new MsgpackWriter();
    writer.writeValue([['sql-adapter', ['mm-hash', 0]], null, { salt: 'abc' }, 0.25, true, 2n ** 60n]);
    expect(decode(writer.bytes(), { useBigInt64: true })).toEqual([
      ['sql-adapter', ['mm-hash', 0]],
      null,
      { salt: 'abc' },
      0.25,
      true,
      2n ** 60n,
    ]);
    expect(() => writer.writeValue(new Map())).toThrow(/Map/);
  });
});
