/**
 * A typed key into an {@link AttributeMap}. The type parameter exists only at compile time; two keys
 * with the same name address the same slot.
 */
export interface AttributeKey<Value> {
  readonly name: string;
  /** Phantom field carrying the value type; never set at run time. */
  readonly __value?: Value;
}

export function attributeKey<Value>(name: string): AttributeKey<Value> {
  return Object.freeze({ name });
}

/** Typed per-request data: producers write, scorers and hooks read. */
export class AttributeMap {
  readonly #values = new Map<string, unknown>();

  get<Value>(key: AttributeKey<Value>): Value | undefined {
    return this.#values.get(key.name) as Value | undefined;
  }

  set<Value>(key: AttributeKey<Value>, value: Value): void {
    this.#values.set(key.name, value);
  }

  has(key: AttributeKey<unknown>): boolean {
    return this.#values.has(key.name);
  }

  delete(key: AttributeKey<unknown>): boolean {
    return this.#values.delete(key.name);
  }
}
