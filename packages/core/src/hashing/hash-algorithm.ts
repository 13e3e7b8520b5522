/** vLLM's `--prefix-caching-hash-algo` values: what KV events carry. */
export const engineHashAlgorithms = ['sha256_cbor', 'xxhash_cbor', 'sha256', 'xxhash'] as const;
export type EngineHashAlgorithm = (typeof engineHashAlgorithms)[number];

/** llm-d's `tokenProcessorConfig.hashAlgorithm` values: the index's own request keys. */
export const requestKeyAlgorithms = ['cbor-fnv', 'xxh64'] as const;
export type RequestKeyAlgorithm = (typeof requestKeyAlgorithms)[number];

export const hashAlgorithms = [...engineHashAlgorithms, ...requestKeyAlgorithms] as const;
export type HashAlgorithm = EngineHashAlgorithm | RequestKeyAlgorithm;

export function isEngineHashAlgorithm(algorithm: string): algorithm is EngineHashAlgorithm {
  return (engineHashAlgorithms as ReadonlyArray<string>).includes(algorithm);
}

export function isRequestKeyAlgorithm(algorithm: string): algorithm is RequestKeyAlgorithm {
  return (requestKeyAlgorithms as ReadonlyArray<string>).includes(algorithm);
}
