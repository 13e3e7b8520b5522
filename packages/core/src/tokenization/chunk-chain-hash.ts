import { xxh64 } from '@node-rs/xxhash';

// Any fixed value works; it only has to differ from 0 so an empty chain is not a valid hash.
const chainSeed = 0x6c6c6d64n;

/**
 * Chained XXH64 hashes of a text's full `chunkCharacters`-long chunks: `hashes[j]` identifies the
 * prefix `text.slice(0, (j + 1) * chunkCharacters)`. Two texts share the first `j + 1` chunks exactly
 * when their `hashes[j]` agree (barring collisions, which callers rule out by comparing text). A
 * trailing partial chunk is not hashed.
 */
export function chunkChainHashes(text: string, chunkCharacters: number): bigint[] {
  const count = Math.floor(text.length / chunkCharacters);
  const hashes = new Array<bigint>(count);
  let previous = chainSeed;
  for (let index = 0; index < count; index += 1) {
    const start = index * chunkCharacters;
    previous = xxh64(text.slice(start, start + chunkCharacters), previous);
    hashes[index] = previous;
  }
  return hashes;
}
