import type { KvEventBatch } from '../vocabulary/kv-events.js';

/**
 * The golden KV-event batch of the kv-events reference (§2.2) and its two msgpack encodings (vLLM's
 * positional arrays, and tagged maps from v0.24). The simulator's encoder and the index's decoder are
 * both tested against these same bytes, so the two sides of the wire cannot drift apart.
 */
export const kvEventGoldenHash = 3236607068019569386n;
export const kvEventGoldenBatch: KvEventBatch = {
  timestamp: 1700000000.5,
  dataParallelRank: 0,
  events: [
    {
      type: 'BlockStored',
      blockHashes: [kvEventGoldenHash],
      parentBlockHash: null,
      tokenIds: Array.from({ length: 16 }, (_, index) => index + 1),
      blockSize: 16,
      loraId: null,
      medium: 'GPU',
      loraName: null,
      extraKeys: [null],
      groupIdx: 0,
      kvCacheSpecKind: 'full_attention',
      kvCacheSpecSlidingWindow: null,
    },
    { type: 'BlockRemoved', blockHashes: [kvEventGoldenHash], medium: 'GPU', groupIdx: 0 },
    { type: 'AllBlocksCleared' },
  ],
};

export const kvEventGoldenArrayHex =
  '93cb41d954fc40200000939cab426c6f636b53746f72656491cf2ceabcfae6d332eac0dc00100102030405060708090a' +
  '0b0c0d0e0f1010c0a3475055c091c000ae66756c6c5f617474656e74696f6ec094ac426c6f636b52656d6f76656491cf' +
  '2ceabcfae6d332eaa34750550091b0416c6c426c6f636b73436c656172656400';

export const kvEventGoldenMapHex =
  '93cb41d954fc40200000938ba474797065ab426c6f636b53746f726564ac626c6f636b5f68617368657391cf2ceabcfa' +
  'e6d332eab1706172656e745f626c6f636b5f68617368c0a9746f6b656e5f696473dc00100102030405060708090a0b0c' +
  '0d0e0f10aa626c6f636b5f73697a6510a76c6f72615f6964c0a66d656469756da3475055a96c6f72615f6e616d65c0aa' +
  '65787472615f6b65797391c0a967726f75705f69647800b26b765f63616368655f737065635f6b696e64ae66756c6c5f' +
  '617474656e74696f6e84a474797065ac426c6f636b52656d6f766564ac626c6f636b5f68617368657391cf2ceabcfae6' +
  'd332eaa66d656469756da3475055a967726f75705f6964780081a474797065b0416c6c426c6f636b73436c6561726564' +
  '00';
