import type { HeaderMapMessage, HeaderValueOptionMessage } from './ext-proc-messages.js';

const textDecoder = new TextDecoder();

export interface ReadHeaders {
  /** Regular headers, names lower-cased; repeated names joined with `,` (RFC 9110 §5.3). */
  readonly headers: Record<string, string>;
  /** HTTP/2 pseudo-headers (`:method`, `:path`, `:status`, …), names lower-cased. */
  readonly pseudoHeaders: Record<string, string>;
}

/**
 * Reads an Envoy header map. Current Envoys put values in `raw_value` (bytes), older ones in
 * `value`; both are accepted.
 */
export function readHeaderMap(map: HeaderMapMessage | null | undefined): ReadHeaders {
  const headers: Record<string, string> = {};
  const pseudoHeaders: Record<string, string> = {};
  for (const header of map?.headers ?? []) {
    const name = header.key.toLowerCase();
    const raw = header.raw_value;
    const value =
      raw !== undefined && raw !== null && raw.length > 0 ? textDecoder.decode(raw) : (header.value ?? '');
    const target = name.startsWith(':') ? pseudoHeaders : headers;
    const previous = target[name];
    target[name] = previous === undefined ? value : `${previous},${value}`;
  }
  return { headers, pseudoHeaders };
}

/** One `set_headers` entry. Values go in `raw_value`, as current Envoys expect. */
export function headerValueOption(key: string, value: string): HeaderValueOptionMessage {
  return { header: { key, raw_value: Buffer.from(value, 'utf8') } };
}

/** `set_headers` entries for every header of a record, in insertion order. */
export function headerValueOptions(headers: Readonly<Record<string, string>>): HeaderValueOptionMessage[] {
  return Object.entries(headers).map(([key, value]) => headerValueOption(key, value));
}
