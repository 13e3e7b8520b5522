import { InvalidArgumentError, LlmdError, type Logger, noopLogger } from '@llmd/core';
import { Redis } from 'ioredis';
import type {
  EndpointIndexStats,
  Holder,
  KvIndexBackend,
  PrefixScores,
  ScoreOptions,
  StoreBlocksInput,
} from '../kv-index-backend.js';
import { execPipeline } from './exec-pipeline.js';
import {
  currentGeneration,
  entryField,
  holderMember,
  RedisKeyLayout,
  rankField,
  statsField,
  toDecimal,
  validateHolder,
  validateTier,
} from './redis-key-layout.js';
import {
  clearEndpointLua,
  deleteIfUnchangedLua,
  removeBlocksLua,
  storeBlocksLua,
} from './redis-lua-scripts.js';
import { RedisScript } from './redis-script.js';
import { normalizeRedisUrl } from './redis-url.js';
import { scoreLongestPrefix } from './score-longest-prefix.js';

export interface RedisKvIndexBackendOptions {
  /** `redis://`, `rediss://`, `valkey://` or `valkeys://` URL (credentials and database number included). */
  readonly url: string;
  /** Prefix of every key written (default `llmd:kv:`); replicas sharing one index must use the same. */
  readonly keyPrefix?: string;
  readonly logger?: Logger;
  /** Clock in ms since the epoch, for speculative expiry (default `Date.now`). */
  readonly now?: () => number;
  /**
   * Time limit per command in ms (default 3000): when Redis stalls, a score should fail and let
   * routing fall back rather than hold the request.
   */
  readonly commandTimeoutMs?: number;
}

export const defaultRedisKeyPrefix = 'llmd:kv:';
const defaultCommandTimeoutMs = 3000;
/** Bounds the lazy cleanup one score or lookup triggers, so a mass clear never causes a burst. */
const maximumCleanupPerCall = 256;

/**
 * Connect to Redis/Valkey and return an index backend stored there, shared by every replica that
 * uses the same URL and key prefix. Fails with `invalid_config` for a bad URL or option and with
 * `internal` when the server cannot be reached.
 */
export async function createRedisKvIndexBackend(
  options: RedisKvIndexBackendOptions,
): Promise<KvIndexBackend> {
  const url = normalizeRedisUrl(options.url);
  const keyPrefix = options.keyPrefix ?? defaultRedisKeyPrefix;
  if (typeof keyPrefix !== 'string') {
    throw new LlmdError('invalid_config', 'redis keyPrefix must be a string', { path: 'keyPrefix' });
  }
  const commandTimeoutMs = options.commandTimeoutMs ?? defaultCommandTimeoutMs;
  if (!Number.isFinite(commandTimeoutMs) || commandTimeoutMs <= 0) {
    throw new LlmdError('invalid_config', 'redis commandTimeoutMs must be a positive number', {
      path: 'commandTimeoutMs',
    });
  }
  const logger = (options.logger ?? noopLogger).child({ component: 'redis-kv-index' });
  const client = new Redis(url, { lazyConnect: true, commandTimeout: commandTimeoutMs });
  // Without a listener ioredis prints every reconnect failure to stderr; route them to our logger.
  client.on('error', (error: Error) => logger.warn({ error: error.message }, 'redis connection error'));
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw new LlmdError('internal', `cannot connect to redis: ${errorMessage(error)}`, { cause: error });
  }
  logger.info({ keyPrefix }, 'connected to redis kv index');
  return new RedisKvIndexBackend(client, new RedisKeyLayout(keyPrefix), logger, options.now ?? Date.now);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class RedisKvIndexBackend implements KvIndexBackend {
  private readonly storeScript = new RedisScript('store-blocks', storeBlocksLua);
  private readonly removeScript = new RedisScript('remove-blocks', removeBlocksLua);
  private readonly clearScript = new RedisScript('clear-endpoint', clearEndpointLua);
  private readonly deleteIfUnchangedScript = new RedisScript('delete-if-unchanged', deleteIfUnchangedLua);
  /** Background cleanups still running, awaited by `close()` so none is cut off mid-flight. */
  private readonly pendingCleanups = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly client: Redis,
    private readonly layout: RedisKeyLayout,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  async storeBlocks(input: StoreBlocksInput): Promise<void> {
    const { holder, tier, engineKeys, expiresAt } = input;
    const requestKeys: ReadonlyArray<bigint> =
      input.requestKeys instanceof BigUint64Array ? Array.from(input.requestKeys) : input.requestKeys;
    validateHolder(holder);
    validateTier(tier);
    if (engineKeys && engineKeys.length !== requestKeys.length) {
      throw new InvalidArgumentError(
        `engineKeys (${engineKeys.length}) must be aligned with requestKeys (${requestKeys.length})`,
        { path: 'engineKeys' },
      );
    }
    if (expiresAt !== undefined && !Number.isFinite(expiresAt)) {
      throw new InvalidArgumentError('expiresAt must be a finite time in ms', { path: 'expiresAt' });
    }
    if (requestKeys.length === 0) return;
    // A speculative entry already past its expiry would never count: skip the write.
    if (expiresAt !== undefined && expiresAt <= this.now()) return;
    const endpointKey = holder.endpointKey;
    const keys = [
      this.layout.generationKey(endpointKey),
      this.layout.statsKey(endpointKey),
      this.layout.endpointsKey,
      this.layout.holdersKey(endpointKey),
      this.layout.engineMapKey(holder),
    ];
    for (const requestKey of requestKeys) keys.push(this.layout.requestKey(requestKey));
    const args = [
      endpointKey,
      holderMember(holder),
      rankField(holder.dataParallelRank),
      entryField(holder, tier),
      tier,
      statsField(holder.dataParallelRank, tier),
      expiresAt === undefined ? '' : String(Math.round(expiresAt)),
      String(requestKeys.length),
    ];
    for (const requestKey of requestKeys) args.push(toDecimal(requestKey));
    if (engineKeys) for (const engineKey of engineKeys) args.push(toDecimal(engineKey));
    await this.guard('storeBlocks', () => this.storeScript.run(this.client, keys, args));
  }

  async removeBlocks(holder: Holder, tier: string, engineKeys: ReadonlyArray<bigint>): Promise<void> {
    validateHolder(holder);
    validateTier(tier);
    if (engineKeys.length === 0) return;
    const endpointKey = holder.endpointKey;
    const keys = [
      this.layout.generationKey(endpointKey),
      this.layout.statsKey(endpointKey),
      this.layout.engineMapKey(holder),
    ];
    const args = [
      rankField(holder.dataParallelRank),
      entryField(holder, tier),
      tier,
      statsField(holder.dataParallelRank, tier),
      this.layout.requestKeyPrefix,
    ];
    for (const engineKey of engineKeys) args.push(toDecimal(engineKey));
    await this.guard('removeBlocks', () => this.removeScript.run(this.client, keys, args));
  }

  async lookupRequestKeys(
    holder: Holder,
    engineKeys: ReadonlyArray<bigint>,
  ): Promise<Array<bigint | undefined>> {
    validateHolder(holder);
    if (engineKeys.length === 0) return [];
    const engineMapKey = this.layout.engineMapKey(holder);
    const fields = engineKeys.map(toDecimal);
    // One transaction, so the generation and the mappings are read at the same instant.
    const [generations, mappings] = await this.guard('lookupRequestKeys', async () => {
      const replies = await execPipeline(
        this.client
          .multi()
          .hgetall(this.layout.generationKey(holder.endpointKey))
          .hmget(engineMapKey, ...fields),
      );
      return [replies[0] as Record<string, string>, replies[1] as Array<string | null>] as const;
    });
    const generation = currentGeneration(generations, rankField(holder.dataParallelRank));
    const stale: Array<[string, string, string]> = [];
    const requestKeys = mappings.map((mapping, index) => {
      if (mapping === null) return undefined;
      const [mappingGeneration, , requestKeyList] = mapping.split('|');
      if (mappingGeneration !== generation || requestKeyList === undefined) {
        stale.push([engineMapKey, fields[index] as string, mapping]);
        return undefined;
      }
      // With engine blocks larger than ours an engine key covers several request keys; a
      // continuation chains from the last of them.
      const last = requestKeyList.slice(requestKeyList.lastIndexOf(',') + 1);
      return last === '' ? undefined : BigInt(last);
    });
    this.deleteLazily(stale);
    return requestKeys;
  }

  async clearEndpoint(endpointKey: string, dataParallelRank?: number | null): Promise<void> {
    if (typeof endpointKey !== 'string' || endpointKey === '') {
      throw new InvalidArgumentError('endpointKey must be a non-empty string', { path: 'endpointKey' });
    }
    // Same meaning as the in-memory backend: undefined clears every rank, null only the rank-less holders.
    if (dataParallelRank !== undefined) {
      validateHolder({ endpointKey, dataParallelRank, groupIdx: null });
    }
    const keys = [
      this.layout.generationKey(endpointKey),
      this.layout.statsKey(endpointKey),
      this.layout.holdersKey(endpointKey),
      this.layout.endpointsKey,
    ];
    const args = [
      endpointKey,
      dataParallelRank === undefined ? '' : rankField(dataParallelRank),
      this.layout.engineMapKeyPrefix(endpointKey),
    ];
    const dropped = await this.guard('clearEndpoint', () => this.clearScript.run(this.client, keys, args));
    this.logger.debug({ endpointKey, dataParallelRank, engineMapsDropped: dropped }, 'cleared endpoint');
  }

  async score(
    keys: ReadonlyArray<bigint> | BigUint64Array,
    options: ScoreOptions = {},
  ): Promise<PrefixScores> {
    const requestKeys: ReadonlyArray<bigint> = keys instanceof BigUint64Array ? Array.from(keys) : keys;
    const stale: Array<[string, string, string]> = [];
    const scores = await this.guard('score', () =>
      scoreLongestPrefix(
        {
          client: this.client,
          layout: this.layout,
          now: this.now(),
          onStaleEntry: (hashKey, field, value) => {
            if (stale.length < maximumCleanupPerCall) stale.push([hashKey, field, value]);
          },
        },
        requestKeys,
        options,
      ),
    );
    this.deleteLazily(stale);
    return scores;
  }

  async endpointStats(): Promise<EndpointIndexStats[]> {
    return this.guard('endpointStats', async () => {
      const endpointKeys = (await this.client.smembers(this.layout.endpointsKey)).sort();
      if (endpointKeys.length === 0) return [];
      const pipeline = this.client.pipeline();
      for (const endpointKey of endpointKeys) pipeline.hgetall(this.layout.statsKey(endpointKey));
      const replies = await execPipeline(pipeline);
      return endpointKeys.map((endpointKey, index) => {
        const blocksByTier: Record<string, number> = {};
        for (const [field, value] of Object.entries(replies[index] as Record<string, string>)) {
          // Counter fields are `<rank>|<tier>`; ranks never contain `|`.
          const tier = field.slice(field.indexOf('|') + 1);
          const count = Number(value);
          if (Number.isFinite(count) && count > 0) blocksByTier[tier] = (blocksByTier[tier] ?? 0) + count;
        }
        return { endpointKey, blocksByTier };
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.pendingCleanups]);
    try {
      await this.client.quit();
    } catch (error) {
      // The connection is already gone; make sure no reconnect timer survives.
      this.logger.debug({ error: errorMessage(error) }, 'redis quit failed, disconnecting');
      this.client.disconnect();
    }
  }

  /**
   * Delete entries found stale or expired, in the background: readers already ignore them, so the
   * caller need not wait, and the compare-and-delete script spares entries rewritten meanwhile.
   */
  private deleteLazily(stale: ReadonlyArray<readonly [string, string, string]>): void {
    if (stale.length === 0 || this.closed) return;
    const keys = stale.slice(0, maximumCleanupPerCall).map(([hashKey]) => hashKey);
    const args = stale.slice(0, maximumCleanupPerCall).flatMap(([, field, value]) => [field, value]);
    const cleanup = this.deleteIfUnchangedScript
      .run(this.client, keys, args)
      .then(
        (deleted) => this.logger.trace({ deleted }, 'deleted stale index entries'),
        (error: unknown) =>
          this.logger.warn({ error: errorMessage(error) }, 'lazy cleanup of stale entries failed'),
      )
      .finally(() => this.pendingCleanups.delete(cleanup));
    this.pendingCleanups.add(cleanup);
  }

  /** Report Redis failures as `internal` errors; our own errors pass through. */
  private async guard<T>(operation: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      if (LlmdError.isInstance(error)) throw error;
      throw new LlmdError('internal', `redis kv index ${operation} failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }
}
