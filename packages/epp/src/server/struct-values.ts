import type { StructMessage, ValueMessage } from './ext-proc-messages.js';

/** A JSON-like value that converts to `google.protobuf.Value`. */
export type StructInput = string | number | boolean | null | ReadonlyArray<StructInput> | StructRecordInput;
export interface StructRecordInput {
  readonly [key: string]: StructInput;
}

/** Converts a plain value to a protobufjs `google.protobuf.Value` object (camelCase members). */
export function toValueMessage(input: StructInput): ValueMessage {
  if (input === null) return { nullValue: 'NULL_VALUE' };
  if (typeof input === 'string') return { stringValue: input };
  if (typeof input === 'number') return { numberValue: input };
  if (typeof input === 'boolean') return { boolValue: input };
  if (isInputArray(input)) return { listValue: { values: input.map(toValueMessage) } };
  return { structValue: toStructMessage(input) };
}

export function toStructMessage(input: StructRecordInput): StructMessage {
  const fields: Record<string, ValueMessage> = {};
  for (const [key, value] of Object.entries(input)) fields[key] = toValueMessage(value);
  return { fields };
}

function isInputArray(input: StructInput): input is ReadonlyArray<StructInput> {
  return Array.isArray(input);
}

/** One field of a struct, or undefined when the struct or the field is absent. */
export function structField(struct: StructMessage | null | undefined, key: string): ValueMessage | undefined {
  return struct?.fields?.[key] ?? undefined;
}

/** The string items of a list value (non-strings skipped); a plain string value is split on `,`. */
export function stringListFromValue(value: ValueMessage): string[] {
  if (value.listValue !== undefined && value.listValue !== null) {
    const items: string[] = [];
    for (const item of value.listValue.values ?? []) {
      if (typeof item.stringValue === 'string' && item.stringValue !== '') items.push(item.stringValue);
    }
    return items;
  }
  if (typeof value.stringValue === 'string') {
    return value.stringValue
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }
  return [];
}

/** A plain JSON-like value from a protobufjs `google.protobuf.Value` object. */
export type StructOutput =
  | string
  | number
  | boolean
  | null
  | StructOutput[]
  | { [key: string]: StructOutput };

export function fromValueMessage(value: ValueMessage): StructOutput {
  if (typeof value.stringValue === 'string') return value.stringValue;
  if (typeof value.numberValue === 'number') return value.numberValue;
  if (typeof value.boolValue === 'boolean') return value.boolValue;
  if (value.structValue !== undefined && value.structValue !== null)
    return fromStructMessage(value.structValue);
  if (value.listValue !== undefined && value.listValue !== null) {
    return (value.listValue.values ?? []).map(fromValueMessage);
  }
  return null;
}

export function fromStructMessage(struct: StructMessage | null | undefined): { [key: string]: StructOutput } {
  const output: { [key: string]: StructOutput } = {};
  for (const [key, value] of Object.entries(struct?.fields ?? {})) output[key] = fromValueMessage(value);
  return output;
}
