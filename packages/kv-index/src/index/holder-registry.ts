import type { Holder } from './kv-index-backend.js';

export interface HolderRecord {
  readonly id: number;
  readonly holder: Holder;
  alive: boolean;
  /** Blocks held per tier index. */
  readonly blocksByTier: number[];
  /** Per-holder salt mixed into engine keys: engine keys are only unique within one engine. */
  readonly saltHigh: number;
  readonly saltLow: number;
}

function holderKey(holder: Holder): string {
  return `${holder.endpointKey}|${holder.dataParallelRank ?? ''}|${holder.groupIdx ?? ''}`;
}

/** splitmix32-style scrambler for salts (deterministic per id, spread over all bits). */
function scramble(value: number): number {
  let mixed = (value + 0x9e3779b9) | 0;
  mixed = Math.imul(mixed ^ (mixed >>> 16), 0x85ebca6b);
  mixed = Math.imul(mixed ^ (mixed >>> 13), 0xc2b2ae35);
  return (mixed ^ (mixed >>> 16)) >>> 0;
}

/**
 * Interns holders (endpoint, DP rank, KV-cache group) to small integer ids. Clearing an endpoint
 * retires its ids in O(1): entries written under a retired id read as absent and are swept lazily;
 * an id is reused only after a sweep has removed every entry that carried it.
 */
export class HolderRegistry {
  private readonly records: Array<HolderRecord | undefined> = [];
  private readonly current = new Map<string, HolderRecord>();
  private readonly byEndpoint = new Map<string, Set<HolderRecord>>();
  private readonly reusableIds: number[] = [];
  /** Retired ids still present in the tables. */
  readonly retired = new Set<number>();

  constructor(private readonly tierCount: number) {}

  get(id: number): HolderRecord | undefined {
    return this.records[id];
  }

  isAlive(id: number): boolean {
    return this.records[id]?.alive === true;
  }

  find(holder: Holder): HolderRecord | undefined {
    return this.current.get(holderKey(holder));
  }

  findOrCreate(holder: Holder): HolderRecord {
    const key = holderKey(holder);
    const existing = this.current.get(key);
    if (existing) return existing;
    const id = this.reusableIds.pop() ?? this.records.length;
    const record: HolderRecord = {
      id,
      holder: { ...holder },
      alive: true,
      blocksByTier: new Array<number>(this.tierCount).fill(0),
      saltHigh: scramble(id * 2 + 1),
      saltLow: scramble(id * 2 + 2),
    };
    this.records[id] = record;
    this.current.set(key, record);
    let endpointHolders = this.byEndpoint.get(holder.endpointKey);
    if (!endpointHolders) {
      endpointHolders = new Set();
      this.byEndpoint.set(holder.endpointKey, endpointHolders);
    }
    endpointHolders.add(record);
    return record;
  }

  /** Retire the endpoint's holders (all ranks, or one). O(holders of the endpoint). */
  retireEndpoint(endpointKey: string, dataParallelRank?: number | null): number {
    const endpointHolders = this.byEndpoint.get(endpointKey);
    if (!endpointHolders) return 0;
    let retired = 0;
    for (const record of [...endpointHolders]) {
      if (dataParallelRank !== undefined && record.holder.dataParallelRank !== dataParallelRank) continue;
      record.alive = false;
      this.current.delete(holderKey(record.holder));
      endpointHolders.delete(record);
      this.retired.add(record.id);
      retired++;
    }
    if (endpointHolders.size === 0) this.byEndpoint.delete(endpointKey);
    return retired;
  }

  /** Called when a full sweep found no entry of these retired ids: they can be reused. */
  releaseRetired(ids: Iterable<number>): void {
    for (const id of ids) {
      this.retired.delete(id);
      this.records[id] = undefined;
      this.reusableIds.push(id);
    }
  }

  /** Ids of the live holders of these endpoints. */
  liveIdsOf(endpointKeys: Iterable<string>): Set<number> {
    const ids = new Set<number>();
    for (const endpointKey of endpointKeys) {
      for (const record of this.byEndpoint.get(endpointKey) ?? []) ids.add(record.id);
    }
    return ids;
  }

  liveRecords(): HolderRecord[] {
    return [...this.current.values()];
  }
}
