import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LlmdError } from '../errors/llmd-error.js';
import {
  findSharedFolder,
  readVllmKvEventFixture,
  sharedFixturesMissingMessage,
} from '../testing/shared-fixtures.js';
import { createBlockHasher } from './block-hasher.js';
import { encodeCanonicalCbor } from './cbor-writer.js';
import { hashAlgorithms, isEngineHashAlgorithm } from './hash-algorithm.js';

const oneTo = (count: number) => Array.from({ length: count }, (_, index) => index + 1);
const hex = (bytes: unknown) => Buffer.from(bytes as Uint8Array).toString('hex');

describe('vLLM engine hashes (seed "0", block 16, tokens 1..32)', () => {
  it('sha256_cbor matches the reference digests and event values', () => {
    const chain = createBlockHasher({ algorithm: 'sha256_cbor', blockSize: 16, seed: '0' }).startChain();
    expect(chain.append(oneTo(32))).toEqual([3236607068019569386n, 2758186210834249151n]);
    expect(hex(chain.states[0])).toBe('202da172482d928bbc42ab25b0151e2b895f13f41002e27b2ceabcfae6d332ea');
    expect(hex(chain.states[1])).toBe('4a0a393805c6d2f0ed831000d41bb65980336c4c04895d5e26470bbec927f5bf');
  });

  it('xxhash_cbor matches the reference digests and event values', () => {
    const chain = createBlockHasher({ algorithm: 'xxhash_cbor', blockSize: 16, seed: '0' }).startChain();
    expect(chain.append(oneTo(32))).toEqual([882618318818381833n, 12890060145260523405n]);
    expect(hex(chain.states[0])).toBe('c2d7a75070fc6d6b0c3fb0af456c1009');
    expect(hex(chain.states[1])).toBe('93add93233ea572fb2e2b1685bac6f8d');
  });

  it('sha256 (pickle) matches the reference digests and event values', () => {
    const chain = createBlockHasher({ algorithm: 'sha256', blockSize: 16, seed: '0' }).startChain();
    expect(chain.append(oneTo(32))).toEqual([7536218907325174565n, 9048537298590080561n]);
    expect(hex(chain.states[0])).toBe('bea72b7d33de03c1aa715efbb492d0e0d3801f00c1f985756896072ae8b31325');
  });

  it('xxhash (pickle) matches the reference event values', () => {
    const hasher = createBlockHasher({ algorithm: 'xxhash', blockSize: 16, seed: '0' });
    expect(hasher.hash(oneTo(32))).toEqual([11844795890135418255n, 14253768906014549686n]);
  });

  it('puts the LoRA name on every block and the cache salt on block 0 only', () => {
    const hasher = createBlockHasher({
      algorithm: 'sha256_cbor',
      blockSize: 16,
      seed: '0',
      loraName: 'my-lora',
      cacheSalt: 'salt-1',
    });
    expect(hasher.hash(oneTo(32))).toEqual([2808286155839804696n, 1656328069003195154n]);
  });

  it('sha256 (pickle) matches CPython for wide ints, unicode extras and long strings', () => {
    // Values computed with CPython 3.11: sha256(pickle.dumps(obj, protocol=5)).
    const tokens = [
      0,
      23,
      24,
      255,
      256,
      65535,
      65536,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 32 - 1,
      7,
      8,
      9,
      10,
      11,
      12,
    ];
    const hasher = createBlockHasher({
      algorithm: 'sha256',
      blockSize: 16,
      seed: '42',
      loraName: 'Alice',
      cacheSalt: 'salt-é',
    });
    expect(hasher.hash([...tokens, ...[...tokens].reverse()])).toEqual([
      14143901832509387986n,
      2551117884254677529n,
    ]);
    const longName = createBlockHasher({
      algorithm: 'sha256',
      blockSize: 16,
      seed: '42',
      loraName: 'ü'.repeat(200),
    });
    expect(longName.hash(Array.from({ length: 16 }, (_, index) => index))).toEqual([13532780158159692172n]);
  });

  it('hashes a unicode seed as its UTF-8 CBOR text (NONE_HASH = sha256(cbor(seed)))', () => {
    const seed = '種子-🦙';
    const noneHash = createHash('sha256').update(encodeCanonicalCbor(seed)).digest();
    expect(Buffer.from(encodeCanonicalCbor(seed)).subarray(0, 1).toString('hex')).toBe('6b'); // text, 11 UTF-8 bytes
    const preimage = Buffer.concat([
      Buffer.from([0x83, 0x58, 0x20]),
      noneHash,
      Buffer.from(encodeCanonicalCbor(oneTo(16))),
      Buffer.from([0xf6]),
    ]);
    const expected = createHash('sha256').update(preimage).digest().readBigUInt64BE(24);
    expect(createBlockHasher({ algorithm: 'sha256_cbor', blockSize: 16, seed }).hash(oneTo(16))).toEqual([
      expected,
    ]);
    // llm-d request keys fold the seed's UTF-8 bytes: a different seed gives different keys.
    const withSeed = createBlockHasher({ algorithm: 'cbor-fnv', blockSize: 16, modelName: 'm', seed });
    expect(withSeed.hash(oneTo(16))).not.toEqual(
      createBlockHasher({ algorithm: 'cbor-fnv', blockSize: 16, modelName: 'm' }).hash(oneTo(16)),
    );
  });

  it('hashes full blocks only', () => {
    const hasher = createBlockHasher({ algorithm: 'sha256_cbor', blockSize: 16, seed: '0' });
    expect(hasher.hash(oneTo(15))).toEqual([]);
    expect(hasher.hash(oneTo(47))).toHaveLength(2);
  });
});

const shared = findSharedFolder();

describe.skipIf(!shared)(
  `real vLLM capture (${shared ? 'from ../shared/fixtures' : sharedFixturesMissingMessage})`,
  () => {
    it.each([
      ['kv_event_base.json', undefined],
      ['kv_event_lora.json', 'Alice'],
    ])('%s: sha256_cbor, seed 42, block 16 reproduces the 25 published hashes', (fileName, loraName) => {
      const fixture = readVllmKvEventFixture(shared as string, fileName);
      expect(fixture.lora_name ?? undefined).toBe(loraName);
      const hasher = createBlockHasher({
        algorithm: 'sha256_cbor',
        blockSize: fixture.block_size,
        seed: fixture.hash_seed,
        loraName,
      });
      const hashes = hasher.hash(fixture.token_ids);
      expect(hashes).toHaveLength(25);
      expect(hashes).toEqual(fixture.block_hashes);
    });
  },
);

describe('llm-d request keys', () => {
  it('cbor-fnv reproduces the upstream golden key', () => {
    const hasher = createBlockHasher({
      algorithm: 'cbor-fnv',
      blockSize: 4,
      modelName: 'ibm-granite/granite-3.1-8b-instruct',
    });
    expect(hasher.hash([8197, 438, 322, 18926, 432, 45600, 49])).toEqual([1334984470577408192n]);
  });

  it('cbor-fnv matches the reference keys for test-model, with and without a seed', () => {
    expect(
      createBlockHasher({ algorithm: 'cbor-fnv', blockSize: 16, modelName: 'test-model' }).hash(oneTo(32)),
    ).toEqual([9540012594951042066n, 16921089685996993662n]);
    expect(
      createBlockHasher({
        algorithm: 'cbor-fnv',
        blockSize: 16,
        modelName: 'test-model',
        seed: 'test-seed',
      }).hash(oneTo(32)),
    ).toEqual([9813823192409008620n, 682745025325898328n]);
  });

  it('cbor-fnv uses the LoRA name in place of the model name', () => {
    const viaLora = createBlockHasher({
      algorithm: 'cbor-fnv',
      blockSize: 16,
      modelName: 'base',
      loraName: 'test-model',
    });
    expect(viaLora.hash(oneTo(32))).toEqual([9540012594951042066n, 16921089685996993662n]);
  });

  it('cbor-fnv continues from a parent key exactly as the whole chain does', () => {
    const hasher = createBlockHasher({ algorithm: 'cbor-fnv', blockSize: 16, modelName: 'test-model' });
    const continued = hasher.startChain({ parent: 9540012594951042066n });
    expect(continued.append(oneTo(32).slice(16))).toEqual([16921089685996993662n]);
  });

  it('xxh64 chains are deterministic, model-dependent and continue from a parent key', () => {
    const hasher = createBlockHasher({ algorithm: 'xxh64', blockSize: 16, modelName: 'test-model' });
    const keys = hasher.hash(oneTo(48));
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(3);
    expect(
      createBlockHasher({ algorithm: 'xxh64', blockSize: 16, modelName: 'other' }).hash(oneTo(16))[0],
    ).not.toBe(keys[0]);
    expect(hasher.startChain({ parent: keys[0] as bigint }).append(oneTo(48).slice(16))).toEqual(
      keys.slice(1),
    );
  });
});

describe('incremental chains', () => {
  it.each(hashAlgorithms)('%s: appending in pieces equals hashing at once', (algorithm) => {
    const options = algorithm.includes('-') || algorithm === 'xxh64' ? { modelName: 'm' } : { seed: '7' };
    const hasher = createBlockHasher({ algorithm, blockSize: 8, ...options });
    const tokens = Array.from({ length: 100 }, (_, index) => (index * 7919) % 151_000);
    const whole = hasher.hash(tokens);
    const chain = hasher.startChain();
    const pieces = [3, 5, 8, 13, 1, 30, 40];
    let offset = 0;
    for (const piece of pieces) {
      chain.append(tokens.slice(offset, offset + piece));
      offset += piece;
    }
    expect(chain.tokenCount).toBe(100);
    expect(chain.hashes).toEqual(whole);
  });

  it.each(hashAlgorithms)('%s: hashPacked equals hash, from the root and from a parent', (algorithm) => {
    const options = algorithm === 'cbor-fnv' || algorithm === 'xxh64' ? { modelName: 'm' } : { seed: '7' };
    const hasher = createBlockHasher({ algorithm, blockSize: 4, ...options });
    const tokens = Array.from({ length: 70 }, (_, index) => (index * 104729) % 2 ** 32);
    expect([...hasher.hashPacked(tokens)]).toEqual(hasher.hash(tokens));
    // Continue after block 0: vLLM chains on the raw digest, llm-d on the 64-bit key.
    const chain = hasher.startChain();
    chain.append(tokens.slice(0, 4));
    const parent = isEngineHashAlgorithm(algorithm)
      ? (chain.states[0] as Uint8Array)
      : (chain.hashes[0] as bigint);
    const rest = tokens.slice(4);
    expect([...hasher.hashPacked(rest, { parent })]).toEqual(hasher.hash(rest, { parent }));
    expect(hasher.hash(rest, { parent })).toEqual(hasher.hash(tokens).slice(1));
  });

  it('extendTo reuses the shared prefix and rehashes only what differs', () => {
    const hasher = createBlockHasher({ algorithm: 'sha256_cbor', blockSize: 16, seed: '0' });
    const chain = hasher.startChain();
    chain.append(oneTo(64));
    const firstStates = chain.states.slice(0, 2);
    const edited = [...oneTo(40), 999, ...oneTo(80).slice(41)];
    expect(chain.extendTo(edited)).toEqual(hasher.hash(edited));
    // Blocks before the edit are the very same digest objects: they were not recomputed.
    expect(chain.states[0]).toBe(firstStates[0]);
    expect(chain.states[1]).toBe(firstStates[1]);
  });

  it('extendTo validates the whole input before changing the chain', () => {
    const hasher = createBlockHasher({ algorithm: 'xxh64', blockSize: 16, modelName: 'm' });
    const chain = hasher.startChain();
    chain.append(oneTo(40));
    const before = [...chain.hashes];
    // The first two blocks are shared, so only tokens from index 32 on would be rehashed.
    const invalid = [...oneTo(40), -5];
    expect(() => chain.extendTo(invalid)).toThrow(/index 40 is -5/);
    expect(chain.hashes).toEqual(before);
    expect(chain.tokenCount).toBe(40);
    expect(chain.append(oneTo(48).slice(40))).toEqual(hasher.hash(oneTo(48)).slice(2));
  });

  it('extendTo returns a copy the chain does not change afterwards', () => {
    const hasher = createBlockHasher({ algorithm: 'cbor-fnv', blockSize: 4, modelName: 'm' });
    const chain = hasher.startChain();
    const hashes = chain.extendTo(oneTo(8));
    expect(hashes).not.toBe(chain.hashes);
    chain.append(oneTo(4));
    expect(hashes).toEqual(hasher.hash(oneTo(8)));
    expect(chain.tokenCount).toBe(12);
  });

  it('fork branches a shared prefix without disturbing the original', () => {
    const hasher = createBlockHasher({ algorithm: 'cbor-fnv', blockSize: 4, modelName: 'm' });
    const base = hasher.startChain();
    base.append([1, 2, 3, 4, 5, 6]);
    const branch = base.fork();
    branch.append([7, 8, 9, 10]);
    base.append([70, 80]);
    expect(branch.hashes).toEqual(hasher.hash([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    expect(base.hashes).toEqual(hasher.hash([1, 2, 3, 4, 5, 6, 70, 80]));
  });
});

describe('bad input', () => {
  const hasher = createBlockHasher({ algorithm: 'cbor-fnv', blockSize: 2 });

  it.each([
    [[1, -1], /index 1 is -1/],
    [[1.5, 2], /index 0 is 1.5/],
    [[2 ** 32, 0], /index 0 is 4294967296/],
    [[Number.NaN, 0], /index 0 is NaN/],
  ])('rejects token ids %j', (tokens, message) => {
    const attempt = () => hasher.hash(tokens);
    expect(attempt).toThrow(message);
    try {
      attempt();
    } catch (error) {
      expect(LlmdError.isInstance(error) && error.code).toBe('invalid_token_ids');
    }
  });

  it('accepts the largest token id', () => {
    expect(hasher.hash([2 ** 32 - 1, 0])).toHaveLength(1);
  });

  it('rejects unknown algorithms and non-positive block sizes with the field named', () => {
    expect(() => createBlockHasher({ algorithm: 'md5' as never, blockSize: 16 })).toThrow(
      /algorithm: unknown hash algorithm "md5"/,
    );
    expect(() => createBlockHasher({ algorithm: 'cbor-fnv', blockSize: 0 })).toThrow(/blockSize/);
    expect(() => createBlockHasher({ algorithm: 'cbor-fnv', blockSize: -4 })).toThrow(/blockSize/);
  });

  it.each([
    ['sha256_cbor', 32],
    ['sha256', 32],
    ['xxhash_cbor', 16],
    ['xxhash', 16],
  ] as const)('%s: rejects a parent digest that is not %i bytes', (algorithm, digestSize) => {
    const engineHasher = createBlockHasher({ algorithm, blockSize: 2, seed: '0' });
    for (const size of [8, digestSize === 32 ? 16 : 32]) {
      const parent = new Uint8Array(size);
      for (const attempt of [
        () => engineHasher.startChain({ parent }),
        () => engineHasher.hash([1, 2], { parent }),
        () => engineHasher.hashPacked([1, 2], { parent }),
      ]) {
        expect(attempt).toThrow(
          expect.objectContaining({
            code: 'invalid_argument',
            path: 'parent',
            message: expect.stringContaining(`${digestSize} bytes`),
          }),
        );
      }
    }
    expect(engineHasher.hash([1, 2], { parent: new Uint8Array(digestSize) })).toHaveLength(1);
  });

  it.each(['cbor-fnv', 'xxh64'] as const)('%s: rejects parent keys outside [0, 2^64)', (algorithm) => {
    const keyHasher = createBlockHasher({ algorithm, blockSize: 2, modelName: 'm' });
    for (const parent of [-1n, 2n ** 64n]) {
      for (const attempt of [
        () => keyHasher.startChain({ parent }),
        () => keyHasher.hash([1, 2], { parent }),
        () => keyHasher.hashPacked([1, 2], { parent }),
      ]) {
        expect(attempt).toThrow(expect.objectContaining({ code: 'invalid_argument', path: 'parent' }));
      }
    }
    expect(keyHasher.hash([1, 2], { parent: 2n ** 64n - 1n })).toHaveLength(1);
  });

  it.each(['cbor-fnv', 'xxh64'] as const)(
    '%s: a parent key of 0 starts from the init hash, as in llm-d',
    (algorithm) => {
      const keyHasher = createBlockHasher({ algorithm, blockSize: 2, modelName: 'm' });
      const fromRoot = keyHasher.hash([1, 2, 3, 4]);
      expect(keyHasher.hash([1, 2, 3, 4], { parent: 0n })).toEqual(fromRoot);
      expect([...keyHasher.hashPacked([1, 2, 3, 4], { parent: 0n })]).toEqual(fromRoot);
      expect(keyHasher.startChain({ parent: 0n }).append([1, 2, 3, 4])).toEqual(fromRoot);
    },
  );

  it('rejects pickle block sizes whose preimage would span several pickle frames', () => {
    expect(() => createBlockHasher({ algorithm: 'sha256', blockSize: 16_384, seed: '0' })).toThrow(
      /up to 8192 tokens/,
    );
    expect(createBlockHasher({ algorithm: 'sha256_cbor', blockSize: 16_384, seed: '0' }).blockSize).toBe(
      16_384,
    );
  });

  it('requires the engine seed for vLLM algorithms', () => {
    expect(() => createBlockHasher({ algorithm: 'sha256_cbor', blockSize: 16 })).toThrow(/PYTHONHASHSEED/);
  });
});
