/**
 * The subset of CPython's `pickle.dumps(obj, protocol=5)` that vLLM's default `sha256` and
 * `xxhash` block hashes serialise: bytes, small tuples, ints, strings and None, with framing and
 * memoisation exactly as the C pickler emits them. Repeated *identical objects* (memo references)
 * cannot arise from the values we build, so they are not modelled.
 */
export type PickleValue = null | number | string | Uint8Array | PickleTuple;
export interface PickleTuple {
  readonly tuple: ReadonlyArray<PickleValue>;
}

const textEncoder = new TextEncoder();

const opcodes = {
  proto: 0x80,
  frame: 0x95,
  stop: 0x2e,
  none: 0x4e,
  memoize: 0x94,
  mark: 0x28,
  tuple: 0x74,
  emptyTuple: 0x29,
  tuple1: 0x85,
  tuple2: 0x86,
  tuple3: 0x87,
  binInt1: 0x4b,
  binInt2: 0x4d,
  binInt: 0x4a,
  long1: 0x8a,
  shortBinBytes: 0x43,
  binBytes: 0x42,
  shortBinUnicode: 0x8c,
  binUnicode: 0x58,
} as const;

/** Frames smaller than this carry no FRAME opcode (CPython's FRAME_SIZE_MIN). */
const frameSizeMinimum = 4;

class ByteSink {
  bytes: number[] = [];
  push(...values: number[]): void {
    for (const value of values) this.bytes.push(value);
  }
  pushUint32LittleEndian(value: number): void {
    this.push(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff);
  }
  pushAll(values: Uint8Array): void {
    for (const value of values) this.bytes.push(value);
  }
}

function writeInteger(sink: ByteSink, value: number): void {
  if (value >= 0 && value < 0x100) sink.push(opcodes.binInt1, value);
  else if (value >= 0 && value < 0x10000) sink.push(opcodes.binInt2, value & 0xff, value >>> 8);
  else if (value >= -0x80000000 && value <= 0x7fffffff) {
    sink.push(opcodes.binInt);
    sink.pushUint32LittleEndian(value >>> 0);
  } else {
    // LONG1: minimal little-endian two's complement.
    let remaining = BigInt(value);
    const digits: number[] = [];
    for (;;) {
      const byte = Number(remaining & 0xffn);
      digits.push(byte);
      remaining >>= 8n;
      const signBitSet = (byte & 0x80) !== 0;
      if ((remaining === 0n && !signBitSet) || (remaining === -1n && signBitSet)) break;
    }
    sink.push(opcodes.long1, digits.length, ...digits);
  }
}

function writeValue(sink: ByteSink, value: PickleValue): void {
  if (value === null) sink.push(opcodes.none);
  else if (typeof value === 'number') writeInteger(sink, value);
  else if (typeof value === 'string') {
    const utf8 = textEncoder.encode(value);
    if (utf8.length < 0x100) sink.push(opcodes.shortBinUnicode, utf8.length);
    else {
      sink.push(opcodes.binUnicode);
      sink.pushUint32LittleEndian(utf8.length);
    }
    sink.pushAll(utf8);
    sink.push(opcodes.memoize);
  } else if (value instanceof Uint8Array) {
    if (value.length < 0x100) sink.push(opcodes.shortBinBytes, value.length);
    else {
      sink.push(opcodes.binBytes);
      sink.pushUint32LittleEndian(value.length);
    }
    sink.pushAll(value);
    sink.push(opcodes.memoize);
  } else {
    const items = value.tuple;
    if (items.length === 0) {
      sink.push(opcodes.emptyTuple);
      return;
    }
    if (items.length <= 3) {
      for (const item of items) writeValue(sink, item);
      sink.push([opcodes.tuple1, opcodes.tuple2, opcodes.tuple3][items.length - 1] as number);
    } else {
      sink.push(opcodes.mark);
      for (const item of items) writeValue(sink, item);
      sink.push(opcodes.tuple);
    }
    sink.push(opcodes.memoize);
  }
}

/** `pickle.dumps(value, protocol=5)` for the supported value shapes (one frame; preimages are small). */
export function encodePickle(value: PickleValue): Uint8Array {
  const body = new ByteSink();
  writeValue(body, value);
  body.push(opcodes.stop);
  const output = new ByteSink();
  output.push(opcodes.proto, 5);
  if (body.bytes.length >= frameSizeMinimum) {
    output.push(opcodes.frame);
    output.pushUint32LittleEndian(body.bytes.length);
    output.push(0, 0, 0, 0);
  }
  output.bytes.push(...body.bytes);
  return Uint8Array.from(output.bytes);
}

export function pickleTuple(...items: PickleValue[]): PickleTuple {
  return { tuple: items };
}
