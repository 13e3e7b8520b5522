import { describe, expect, it } from 'vitest';
import { decodeSequenceFrame, encodeSequenceFrame, endOfReplaySequence } from './sequence-frame.js';

describe('sequence frames', () => {
  it('are 8 bytes big-endian unsigned', () => {
    expect(encodeSequenceFrame(0).toString('hex')).toBe('0000000000000000');
    expect(encodeSequenceFrame(258).toString('hex')).toBe('0000000000000102');
    expect(encodeSequenceFrame(endOfReplaySequence).toString('hex')).toBe('ffffffffffffffff');
    expect(decodeSequenceFrame(Buffer.from('0000000100000002', 'hex'))).toBe(0x1_0000_0002n);
    expect(decodeSequenceFrame(new Uint8Array(7))).toBeUndefined();
    expect(() => encodeSequenceFrame(-1)).toThrow(/uint64/);
  });

  it('decodes a frame that is a view into a larger buffer', () => {
    const backing = Buffer.from('aa0000000000000007bb', 'hex');
    expect(decodeSequenceFrame(backing.subarray(1, 9))).toBe(7n);
  });
});
