import { InvalidArgumentError } from '../errors/invalid-argument-error.js';

/** Values the canonical encoder accepts: what vLLM and llm-d put into hashed preimages. */
export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | Uint8Array
  | ReadonlyArray<CborValue>
  | ReadonlyMap<string, CborValue>
  | { readonly [key: string]: CborValue };

const textEncoder = new TextEncoder();
const maxUint64 = (1n << 64n) - 1n;

/**
 * Appends canonical CBOR (RFC 7049 §3.9: shortest heads, definite lengths, sorted map keys) to a
 * reusable growable buffer. Hashing hot paths reset and refill one writer per block instead of
 * allocating, which is what keeps block hashing in the millions of tokens per second.
 */
export class CborWriter {
  private buffer: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(initialCapacity = 256) {
    this.buffer = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buffer.buffer);
  }

  reset(): void {
    this.length = 0;
  }

  /** The encoded bytes so far; a view that the next write may overwrite. */
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

  /** A major type with its argument in the shortest form (`value` is a non-negative safe integer). */
  writeHead(majorType: number, value: number): void {
    const major = majorType << 5;
    this.ensure(9);
    const at = this.length;
    if (value < 24) {
      this.buffer[at] = major | value;
      this.length = at + 1;
    } else if (value <= 0xff) {
      this.buffer[at] = major | 24;
      this.buffer[at + 1] = value;
      this.length = at + 2;
    } else if (value <= 0xffff) {
      this.buffer[at] = major | 25;
      this.view.setUint16(at + 1, value);
      this.length = at + 3;
    } else if (value <= 0xffffffff) {
      this.buffer[at] = major | 26;
      this.view.setUint32(at + 1, value);
      this.length = at + 5;
    } else {
      this.buffer[at] = major | 27;
      this.view.setUint32(at + 1, Math.floor(value / 0x100000000));
      this.view.setUint32(at + 5, value >>> 0);
      this.length = at + 9;
    }
  }

  /** An unsigned 64-bit integer given as two 32-bit halves (avoids bigint on hot paths). */
  writeUint64Parts(high: number, low: number): void {
    if (high === 0) {
      this.writeHead(0, low);
      return;
    }
    this.ensure(9);
    const at = this.length;
    this.buffer[at] = 27;
    this.view.setUint32(at + 1, high);
    this.view.setUint32(at + 5, low);
    this.length = at + 9;
  }

  writeBigInt(value: bigint): void {
    if (value >= 0n) {
      if (value > maxUint64) throw new InvalidArgumentError(`CBOR integer ${value} exceeds 64 bits`);
      this.writeUint64Parts(Number(value >> 32n), Number(value & 0xffffffffn));
    } else {
      const argument = -1n - value;
      if (argument > maxUint64) throw new InvalidArgumentError(`CBOR integer ${value} exceeds 64 bits`);
      if (argument <= BigInt(Number.MAX_SAFE_INTEGER)) this.writeHead(1, Number(argument));
      else {
        this.ensure(9);
        this.buffer[this.length] = (1 << 5) | 27;
        this.view.setBigUint64(this.length + 1, argument);
        this.length += 9;
      }
    }
  }

  writeInteger(value: number): void {
    if (!Number.isSafeInteger(value)) {
      throw new InvalidArgumentError(`CBOR encoding takes integers only, got ${value}`);
    }
    if (value >= 0) this.writeHead(0, value);
    else this.writeHead(1, -1 - value);
  }

  writeText(text: string): void {
    // Worst case three UTF-8 bytes per UTF-16 unit; encode in place, then fix the head size.
    const maximum = text.length * 3;
    this.ensure(maximum + 9);
    const headAt = this.length;
    const provisionalHeadSize = maximum < 24 ? 1 : maximum <= 0xff ? 2 : maximum <= 0xffff ? 3 : 5;
    const written = textEncoder.encodeInto(text, this.buffer.subarray(headAt + provisionalHeadSize)).written;
    const headSize = written < 24 ? 1 : written <= 0xff ? 2 : written <= 0xffff ? 3 : 5;
    if (headSize !== provisionalHeadSize) {
      this.buffer.copyWithin(
        headAt + headSize,
        headAt + provisionalHeadSize,
        headAt + provisionalHeadSize + written,
      );
    }
    this.writeHead(3, written);
    this.length = headAt + headSize + written;
  }

  writeBytes(bytes: Uint8Array): void {
    this.writeHead(2, bytes.length);
    this.writeRaw(bytes);
  }

  /** Bytes that are already CBOR (a pre-encoded constant part of a preimage). */
  writeRaw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  writeNull(): void {
    this.ensure(1);
    this.buffer[this.length++] = 0xf6;
  }

  writeBoolean(value: boolean): void {
    this.ensure(1);
    this.buffer[this.length++] = value ? 0xf5 : 0xf4;
  }

  writeArrayHeader(length: number): void {
    this.writeHead(4, length);
  }

  /** Any supported value, canonically (maps sorted length-first, then bytewise, on encoded keys). */
  writeValue(value: CborValue): void {
    if (value === null) this.writeNull();
    else if (typeof value === 'number') this.writeInteger(value);
    else if (typeof value === 'bigint') this.writeBigInt(value);
    else if (typeof value === 'string') this.writeText(value);
    else if (typeof value === 'boolean') this.writeBoolean(value);
    else if (value instanceof Uint8Array) this.writeBytes(value);
    else if (Array.isArray(value)) {
      this.writeArrayHeader(value.length);
      for (const item of value) this.writeValue(item);
    } else {
      const entries =
        value instanceof Map
          ? [...(value as ReadonlyMap<string, CborValue>).entries()]
          : Object.entries(value as { readonly [key: string]: CborValue });
      const encoded = entries.map(([key, item]) => [encodeCanonicalCbor(key), item] as const);
      encoded.sort(([left], [right]) => compareCanonicalKeys(left, right));
      this.writeHead(5, encoded.length);
      for (const [key, item] of encoded) {
        this.writeRaw(key);
        this.writeValue(item);
      }
    }
  }
}

function compareCanonicalKeys(left: Uint8Array, right: Uint8Array): number {
  if (left.length !== right.length) return left.length - right.length;
  for (let index = 0; index < left.length; index++) {
    const difference = (left[index] as number) - (right[index] as number);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** Canonical CBOR bytes of `value` (a fresh copy). */
export function encodeCanonicalCbor(value: CborValue): Uint8Array {
  const writer = new CborWriter(64);
  writer.writeValue(value);
  return writer.bytes().slice();
}
