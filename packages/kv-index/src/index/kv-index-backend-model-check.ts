/**
 * Test helper (not exported from the package): drive any {@link KvIndexBackend} with seeded random
 * stores, removals and clears, and compare every score with a plain reference model. Both backends
 * run it, so they provably implement the same contract.
 */
import { expect } from 'vitest';
import type { Holder, KvIndexBackend } from './kv-index-backend.js';

const endpoints = ['a:1', 'b:1', 'c:1', 'd:1', 'e:1'];
const holderOf = (endpointKey: string): Holder => ({ endpointKey, dataParallelRank: null, groupIdx: null });
const requestKey = (block: number) => BigInt(block) * 0x1_0000_0001n + 0xdead_0000_0000_0000n;
const engineKey = (block: number) => BigInt(block) + 0xe000_0000_0000_0000n;

export async function checkAgainstReferenceModel(
  index: KvIndexBackend,
  seed: number,
  steps: number,
): Promise<void> {
  const model = new Map<string, Set<number>>(endpoints.map((endpoint) => [endpoint, new Set()]));
  let state = seed;
  const random = (limit: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % limit;
  };
  const query = Array.from({ length: 60 }, (_, block) => requestKey(block));
  for (let step = 0; step < steps; step++) {
    const endpoint = endpoints[random(endpoints.length)] as string;
    const operation = random(10);
    if (operation < 6) {
      const start = random(40);
      const blocks = Array.from({ length: 1 + random(12) }, (_, offset) => start + offset);
      await index.storeBlocks({
        holder: holderOf(endpoint),
        tier: 'gpu',
        requestKeys: blocks.map(requestKey),
        engineKeys: blocks.map(engineKey),
      });
      for (const block of blocks) model.get(endpoint)?.add(block);
    } else if (operation < 9) {
      const block = random(55);
      await index.removeBlocks(holderOf(endpoint), 'gpu', [engineKey(block)]);
      model.get(endpoint)?.delete(block);
    } else {
      await index.clearEndpoint(endpoint);
      model.get(endpoint)?.clear();
    }
    if (step % 50 === 0) {
      const expected: Record<string, number> = {};
      for (const [endpointKey, blocks] of model) {
        let length = 0;
        while (blocks.has(length)) length++;
        if (length > 0) expected[endpointKey] = length;
      }
      expect(Object.fromEntries((await index.score(query)).scores)).toEqual(expected);
    }
  }
  for (const endpoint of endpoints) await index.clearEndpoint(endpoint);
}
