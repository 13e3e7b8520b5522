import { describe, expect, it } from 'vitest';
import { maxBodyChunkBytes, splitBody } from './body-chunks.js';

describe('splitBody', () => {
  it('cuts at 62,000 bytes by default and keeps every byte in order', () => {
    const body = Buffer.alloc(150_000, 7);
    body[149_999] = 9;
    const chunks = splitBody(body);

    expect(maxBodyChunkBytes).toBe(62_000);
    expect(chunks.map((chunk) => chunk.length)).toEqual([62_000, 62_000, 26_000]);
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
  });

  it('returns one empty chunk for an empty body, so end_of_stream still goes out', () => {
    expect(splitBody(new Uint8Array(0)).map((chunk) => chunk.length)).toEqual([0]);
  });

  it('returns a body of exactly one chunk size unsplit', () => {
    expect(splitBody(Buffer.alloc(10), 10).map((chunk) => chunk.length)).toEqual([10]);
  });
});
