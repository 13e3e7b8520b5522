/**
 * The handful of ASN.1 DER encodings a self-signed X.509 certificate needs (ITU-T X.690). Node has
 * no certificate builder, and these few functions avoid a dependency for one startup task.
 */

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let remaining = length; remaining > 0; remaining = Math.floor(remaining / 256))
    bytes.unshift(remaining % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One tag-length-value element. */
export function derElement(tag: number, ...contents: ReadonlyArray<Uint8Array>): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body]);
}

export const derSequence = (...contents: ReadonlyArray<Uint8Array>): Buffer => derElement(0x30, ...contents);
export const derSet = (...contents: ReadonlyArray<Uint8Array>): Buffer => derElement(0x31, ...contents);
export const derBoolean = (value: boolean): Buffer => derElement(0x01, Buffer.from([value ? 0xff : 0x00]));
export const derOctetString = (value: Uint8Array): Buffer => derElement(0x04, value);
export const derUtf8String = (value: string): Buffer => derElement(0x0c, Buffer.from(value, 'utf8'));
/** `[n] EXPLICIT` around a constructed value. */
export const derExplicit = (tagNumber: number, content: Uint8Array): Buffer =>
  derElement(0xa0 | tagNumber, content);
/** `[n] IMPLICIT` primitive, as in GeneralName's dNSName [2] and iPAddress [7]. */
export const derImplicitPrimitive = (tagNumber: number, value: Uint8Array): Buffer =>
  derElement(0x80 | tagNumber, value);

/** A BIT STRING whose last byte uses all bits but `unusedBits`. */
export function derBitString(value: Uint8Array, unusedBits = 0): Buffer {
  return derElement(0x03, Buffer.from([unusedBits]), value);
}

/** A non-negative INTEGER from its big-endian magnitude (a leading zero is added when the top bit is set). */
export function derUnsignedInteger(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start += 1;
  const trimmed = magnitude.subarray(start);
  const needsPadding = ((trimmed[0] ?? 0) & 0x80) !== 0;
  return derElement(0x02, needsPadding ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

export function derObjectIdentifier(dotted: string): Buffer {
  const parts = dotted.split('.').map((part) => Number.parseInt(part, 10));
  const [first = 0, second = 0, ...rest] = parts;
  const bytes: number[] = [first * 40 + second];
  for (const part of rest) {
    const groups: number[] = [part & 0x7f];
    for (let remaining = part >>> 7; remaining > 0; remaining >>>= 7)
      groups.unshift((remaining & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return derElement(0x06, Buffer.from(bytes));
}

/** X.509 Time: UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5). */
export function derTime(date: Date): Buffer {
  const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
  const year = date.getUTCFullYear();
  const rest = `${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}Z`;
  if (year >= 1950 && year < 2050) return derElement(0x17, Buffer.from(`${pad(year % 100)}${rest}`, 'ascii'));
  return derElement(0x18, Buffer.from(`${pad(year, 4)}${rest}`, 'ascii'));
}
