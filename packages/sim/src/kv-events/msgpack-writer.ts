import { InvalidArgumentError } from '@llmd/core';

const textEncoder = new TextEncoder();
const maxUint64 = (1n << 64n) - 1n;
const minInt64 = -(1n << 63n);

/**
 * Appends MessagePack to a growable buffer, choosing every head the way Python's msgspec does
 * (shortest integer form, str8 for short strings, float64 for every float). A hand-written writer
 * instead of a general-purpose library because the KV-event wire contract depends on exact
 * encodings: timestamps must stay float64 even when integral, and 64-bit block hashes must come out
 * as uint64 rather than as a lossy double.
 */
export class MsgpackWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private length = 0;

  constructor(initialCapacity = 256) {
    this.buffer = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buffer.buffer);
  }

  /** The bytes written so far (a view of the internal buffer, valid until the next write). */
  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  private ensure(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }

  private writeByte(value: number): void {
    this.ensure(1);
    this.buffer[this.length] = value;
    this.length += 1;
  }

  /** A one-byte marker followed by a big-endian unsigned argument of `width` bytes. */
  private writeMarkerWithLength(marker: number, width: 1 | 2 | 4, value: number): void {
    this.ensure(1 + width);
    const at = this.length;
    this.buffer[at] = marker;
    if (width === 1) this.buffer[at + 1] = value;
    else if (width === 2) this.view.setUint16(at + 1, value);
    else this.view.setUint32(at + 1, value);
    this.length = at + 1 + width;
  }

  writeNil(): void {
    this.writeByte(0xc0);
  }

  writeBoolean(value: boolean): void {
    this.writeByte(value ? 0xc3 : 0xc2);
  }

  /** Always float64 (`0xcb`): msgspec never narrows Python floats, and decoders key on the marker. */
  writeFloat64(value: number): void {
    this.ensure(9);
    this.buffer[this.length] = 0xcb;
    this.view.setFloat64(this.length + 1, value);
    this.length += 9;
  }

  /** An integer in its shortest form; rejects fractions and values outside int64/uint64. */
  writeInteger(value: number | bigint): void {
    if (typeof value === 'number') {
      if (!Number.isInteger(value)) {
        throw new InvalidArgumentError(`msgpack integer expected, got ${value}`);
      }
      if (value >= 0 && value <= 0xffffffff) {
        this.writeUnsigned32(value);
        return;
      }
      if (value < 0 && value >= -0x80000000) {
        this.writeNegative32(value);
        return;
      }
      this.writeInteger64(BigInt(value));
      return;
    }
    if (value >= 0n && value <= 0xffffffffn) this.writeUnsigned32(Number(value));
    else if (value < 0n && value >= -0x80000000n) this.writeNegative32(Number(value));
    else this.writeInteger64(value);
  }

  private writeUnsigned32(value: number): void {
    if (value <= 0x7f) this.writeByte(value);
    else if (value <= 0xff) this.writeMarkerWithLength(0xcc, 1, value);
    else if (value <= 0xffff) this.writeMarkerWithLength(0xcd, 2, value);
    else this.writeMarkerWithLength(0xce, 4, value);
  }

  private writeNegative32(value: number): void {
    this.ensure(5);
    const at = this.length;
    if (value >= -32) {
      // Negative fixint: the value's two's-complement low byte is its own marker.
      this.buffer[at] = value & 0xff;
      this.length = at + 1;
    } else if (value >= -0x80) {
      this.buffer[at] = 0xd0;
      this.view.setInt8(at + 1, value);
      this.length = at + 2;
    } else if (value >= -0x8000) {
      this.buffer[at] = 0xd1;
      this.view.setInt16(at + 1, value);
      this.length = at + 3;
    } else {
      this.buffer[at] = 0xd2;
      this.view.setInt32(at + 1, value);
      this.length = at + 5;
    }
  }

  private writeInteger64(value: bigint): void {
    if (value > maxUint64 || value < minInt64) {
      throw new InvalidArgumentError(`integer ${value} does not fit msgpack's 64-bit integer range`);
    }
    this.ensure(9);
    const at = this.length;
    if (value >= 0n) {
      this.buffer[at] = 0xcf;
      this.view.setBigUint64(at + 1, value);
    } else {
      this.buffer[at] = 0xd3;
      this.view.setBigInt64(at + 1, value);
    }
    this.length = at + 9;
  }

  writeString(value: string): void {
    const encoded = textEncoder.encode(value);
    const size = encoded.length;
    if (size <= 31) this.writeByte(0xa0 | size);
    else if (size <= 0xff) this.writeMarkerWithLength(0xd9, 1, size);
    else if (size <= 0xffff) this.writeMarkerWithLength(0xda, 2, size);
    else this.writeMarkerWithLength(0xdb, 4, size);
    this.writeRaw(encoded);
  }

  writeBinary(value: Uint8Array): void {
    const size = value.length;
    if (size <= 0xff) this.writeMarkerWithLength(0xc4, 1, size);
    else if (size <= 0xffff) this.writeMarkerWithLength(0xc5, 2, size);
    else this.writeMarkerWithLength(0xc6, 4, size);
    this.writeRaw(value);
  }

  writeArrayHeader(size: number): void {
    if (size <= 15) this.writeByte(0x90 | size);
    else if (size <= 0xffff) this.writeMarkerWithLength(0xdc, 2, size);
    else this.writeMarkerWithLength(0xdd, 4, size);
  }

  writeMapHeader(size: number): void {
    if (size <= 15) this.writeByte(0x80 | size);
    else if (size <= 0xffff) this.writeMarkerWithLength(0xde, 2, size);
    else this.writeMarkerWithLength(0xdf, 4, size);
  }

  private writeRaw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  /**
   * Any plain value, for open-ended fields such as `extra_keys`: integral numbers become integers
   * and other numbers float64 (JavaScript cannot tell `1.0` from `1`, so integral wins).
   */
  writeValue(value: unknown): void {
    if (value === null || value === undefined) this.writeNil();
    else if (typeof value === 'boolean') this.writeBoolean(value);
    else if (typeof value === 'bigint') this.writeInteger(value);
    else if (typeof value === 'number') {
      if (Number.isInteger(value)) this.writeInteger(value);
      else this.writeFloat64(value);
    } else if (typeof value === 'string') this.writeString(value);
    else if (value instanceof Uint8Array) this.writeBinary(value);
    else if (Array.isArray(value)) {
      this.writeArrayHeader(value.length);
      for (const item of value) this.writeValue(item);
    } else if (isPlainObject(value)) {
      const entries = Object.entries(value);
      this.writeMapHeader(entries.length);
      for (const [key, item] of entries) {
        this.writeString(key);
        this.writeValue(item);
      }
    } else {
      throw new InvalidArgumentError(`cannot encode a value of type ${describeType(value)} as msgpack`);
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function describeType(value: unknown): string {
  if (typeof value !== 'object' || value === null) return typeof value;
  return value.constructor?.name ?? 'object';
}
