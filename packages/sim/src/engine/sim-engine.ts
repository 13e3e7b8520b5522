import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  type BlockHashChain,
  type BlockHasher,
  createBlockHasher,
  type EngineHashAlgorithm,
  type KvEvent,
} from '@llmd/core';
import { DeadlineHeap } from './deadline-heap.js';
import type {
  EngineRequestHandle,
  EngineRequestInput,
  EngineRequestObserver,
  EngineRequestResult,
  FinishReason,
} from './engine-request.js';
import { type KvBlock, KvBlockPool } from './kv-block-pool.js';
import { LatencyModel, type LatencyProfile } from './latency-model.js';
import { SeededRandom } from './seeded-random.js';

export interface SimEngineOptions {
  blockSize: number;
  numberOfGpuBlocks: number;
  numberOfCpuBlocks: number;
  maximumNumberOfSequences: number;
  maximumWaitingQueueLength: number;
  maximumLoras: number;
  hashAlgorithm: EngineHashAlgorithm;
  hashSeed: string;
  latency: LatencyProfile;
  /** > 1 runs faster than real time; every reported duration stays in model time. */
  timeScale: number;
  seed: number;
  /** P/D prefill side: how long pinned blocks wait for a decoder (vLLM's abort timeout, 480 s). */
  remoteBlockTimeoutMilliseconds: number;
  /** Receives each scheduler step's KV events as one batch (only non-empty batches). */
  onKvEvents?: (events: KvEvent[]) => void;
  /** Called after every step that changed queue or cache state (metrics gauges read the engine). */
  onStateChange?: () => void;
  /** Real-time clock in milliseconds (injectable for tests). */
  now?: () => number;
  /** Unexpected errors inside the scheduler loop (the loop keeps running). */
  onError?: (error: unknown) => void;
}

type RequestPhase = 'waiting' | 'prefilling' | 'decoding' | 'finished';

interface RunningRequest {
  readonly input: EngineRequestInput;
  readonly observer: EngineRequestObserver;
  readonly chain: BlockHashChain;
  readonly loraKey: string | null;
  phase: RequestPhase;
  blocks: KvBlock[];
  /** Full blocks already committed to the prefix cache (or hit in it). */
  committedBlocks: number;
  cachedTokens: number;
  tokensEmitted: number;
  submittedAt: number;
  /** Set once an admission pass passed the request over (capacity, blocks or adapter slots). */
  queuedForCapacity: boolean;
  scheduledAt: number;
  firstTokenAt: number;
  /** Ideal deadline of the next event: tokens are scheduled from the ideal, not the actual, time. */
  nextDeadline: number;
}

export class SimEngineFullError extends Error {
  constructor(readonly queueLength: number) {
    super(`the waiting queue is full (${queueLength} requests)`);
  }
}

/** The engine was closed (the server is shutting down): the request should be retried elsewhere. */
export class SimEngineClosedError extends Error {
  constructor() {
    super('the engine is shutting down');
  }
}

/** The prompt needs more KV blocks than the whole pool: it could never run. */
export class SimEngineCapacityError extends Error {
  constructor(
    readonly blocksNeeded: number,
    readonly blocksInPool: number,
  ) {
    super(`the prompt needs ${blocksNeeded} KV blocks, more than the ${blocksInPool} the engine has`);
  }
}

/**
 * One simulated vLLM engine: continuous batching up to `maximumNumberOfSequences`, a FIFO waiting
 * queue, a prefix-caching block pool and a latency model. Work is driven by one timer over a heap
 * of deadlines; each wake-up is a scheduler step, and the KV events of a step go out as one batch.
 */
export class SimEngine {
  readonly pool: KvBlockPool;
  private readonly options: SimEngineOptions;
  private readonly latency: LatencyModel;
  private readonly now: () => number;
  private readonly waiting: RunningRequest[] = [];
  private readonly running = new Set<RunningRequest>();
  private readonly deadlines = new DeadlineHeap<RunningRequest>();
  private readonly hashers = new Map<string, BlockHasher>();
  /** P/D prefill blocks kept for a decoder, by the engine's remote request id (never the client's id). */
  private readonly pinnedForDecoder = new Map<string, { blocks: KvBlock[]; timer: NodeJS.Timeout }>();
  private pendingEvents: KvEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private timerDeadline = Number.POSITIVE_INFINITY;
  private stepScheduled = false;
  private closed = false;

  constructor(options: SimEngineOptions) {
    this.options = options;
    this.now = options.now ?? (() => performance.now());
    this.latency = new LatencyModel(
      options.latency,
      options.maximumNumberOfSequences,
      new SeededRandom(options.seed),
    );
    this.pool = new KvBlockPool({
      numberOfGpuBlocks: options.numberOfGpuBlocks,
      blockSize: options.blockSize,
      numberOfCpuBlocks: options.numberOfCpuBlocks,
      emit: (event) => this.pendingEvents.push(event),
    });
  }

  get runningCount(): number {
    return this.running.size;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Adapters of running and of waiting requests, for `vllm:lora_requests_info`. */
  loraState(): { running: string[]; waiting: string[] } {
    const running = new Set<string>();
    for (const request of this.running) if (request.loraKey) running.add(request.loraKey);
    const waiting = new Set<string>();
    for (const request of this.waiting) if (request.loraKey) waiting.add(request.loraKey);
    return { running: [...running], waiting: [...waiting] };
  }

  /** The engine hasher for a LoRA / cache-salt combination (what vLLM would hash). */
  hasherFor(loraName: string | null, cacheSalt: string | null): BlockHasher {
    const key = `${loraName ?? ''}\u0000${cacheSalt ?? ''}`;
    let hasher = this.hashers.get(key);
    if (!hasher) {
      hasher = createBlockHasher({
        algorithm: this.options.hashAlgorithm,
        blockSize: this.options.blockSize,
        seed: this.options.hashSeed,
        loraName: loraName ?? undefined,
        cacheSalt: cacheSalt ?? undefined,
      });
      // Salts are per tenant or per request: keep the map bounded.
      if (this.hashers.size >= 1024) this.hashers.delete(this.hashers.keys().next().value as string);
      this.hashers.set(key, hasher);
    }
    return hasher;
  }

  submit(input: EngineRequestInput, observer: EngineRequestObserver): EngineRequestHandle {
    if (this.closed) throw new SimEngineClosedError();
    if (this.waiting.length >= this.options.maximumWaitingQueueLength) {
      throw new SimEngineFullError(this.waiting.length);
    }
    const blocksNeeded = Math.ceil((input.promptTokenIds.length + 1) / this.options.blockSize);
    if (blocksNeeded > this.options.numberOfGpuBlocks) {
      // It could never be admitted, and FIFO admission would stall every request behind it.
      throw new SimEngineCapacityError(blocksNeeded, this.options.numberOfGpuBlocks);
    }
    const chain = this.hasherFor(input.loraName, input.cacheSalt).startChain();
    chain.append(input.promptTokenIds);
    const request: RunningRequest = {
      input,
      observer,
      chain,
      loraKey: input.loraName,
      phase: 'waiting',
      blocks: [],
      committedBlocks: 0,
      cachedTokens: 0,
      tokensEmitted: 0,
      submittedAt: Math.min(this.now(), input.arrivedAt ?? Number.POSITIVE_INFINITY),
      queuedForCapacity: false,
      scheduledAt: 0,
      firstTokenAt: 0,
      nextDeadline: 0,
    };
    this.waiting.push(request);
    this.requestStep();
    return { abort: () => this.finish(request, 'abort') };
  }

  /** `/reset_prefix_cache`; false while blocks are in use (as vLLM answers). */
  resetPrefixCache(): boolean {
    const reset = this.pool.reset();
    this.flushEvents();
    return reset;
  }

  /**
   * Release blocks a prefill kept for its decoder (called when the transfer completes), by the
   * `remoteRequestId` the prefill's result carried; false when nothing is pinned under it.
   */
  releaseRemoteBlocks(remoteRequestId: string): boolean {
    const pinned = this.pinnedForDecoder.get(remoteRequestId);
    if (!pinned) return false;
    clearTimeout(pinned.timer);
    this.pinnedForDecoder.delete(remoteRequestId);
    this.pool.release(pinned.blocks);
    this.requestStep();
    return true;
  }

  /** Abort everything and stop timers. */
  close(): void {
    this.closed = true;
    for (const request of [...this.waiting, ...this.running]) this.finish(request, 'abort');
    for (const remoteRequestId of [...this.pinnedForDecoder.keys()])
      this.releaseRemoteBlocks(remoteRequestId);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private modelMilliseconds(realMilliseconds: number): number {
    return realMilliseconds * this.options.timeScale;
  }

  private realMilliseconds(modelMilliseconds: number): number {
    return modelMilliseconds / this.options.timeScale;
  }

  /** Run a step soon (coalesces submissions and completions made in the same tick). */
  private requestStep(): void {
    if (this.stepScheduled || this.closed) return;
    this.stepScheduled = true;
    setImmediate(() => {
      this.stepScheduled = false;
      this.step();
    });
  }

  private step(): void {
    if (this.closed) return;
    try {
      this.runStep();
    } catch (error) {
      // A bug in one step must not take the server down: report it and keep the loop alive.
      this.options.onError?.(error);
      this.armTimer();
    }
  }

  private runStep(): void {
    const now = this.now();
    // Due work: everything whose deadline has passed (a late timer processes its backlog at once).
    // Collect first, so a step advances each request by at most one token, as a vLLM step does:
    // a request with no inter-token latency cannot keep the loop from serving sockets.
    const due: RunningRequest[] = [];
    for (
      let deadline = this.deadlines.peekDeadline();
      deadline !== undefined && deadline <= now + 0.25;
      deadline = this.deadlines.peekDeadline()
    ) {
      due.push(this.deadlines.pop() as RunningRequest);
    }
    for (const request of due) {
      if (request.phase === 'prefilling') this.completePrefill(request);
      else if (request.phase === 'decoding') this.emitNextToken(request);
    }
    this.admit(now);
    this.flushEvents();
    this.options.onStateChange?.();
    this.armTimer();
  }

  private armTimer(): void {
    const next = this.deadlines.peekDeadline();
    if (next === undefined) return;
    if (this.timer && this.timerDeadline <= next) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDeadline = next;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.timerDeadline = Number.POSITIVE_INFINITY;
        this.step();
      },
      Math.max(0, next - this.now()),
    );
  }

  private admit(now: number): void {
    const blockSize = this.options.blockSize;
    const runningLoras = new Set<string>();
    for (const request of this.running) if (request.loraKey) runningLoras.add(request.loraKey);
    for (
      let index = 0;
      index < this.waiting.length && this.running.size < this.options.maximumNumberOfSequences;
    ) {
      const request = this.waiting[index] as RunningRequest;
      // --max-loras: a request for an adapter not yet running waits while all adapter slots are busy.
      if (
        request.loraKey &&
        !runningLoras.has(request.loraKey) &&
        runningLoras.size >= this.options.maximumLoras
      ) {
        index++;
        continue;
      }
      const promptLength = request.input.promptTokenIds.length;
      const hashes = request.chain.hashes;
      // vLLM recomputes at least the last prompt token, so a full hit stops one block short.
      const hittable = Math.min(hashes.length, Math.floor((promptLength - 1) / blockSize));
      const { gpuBlocks, cpuBlocks } = this.pool.longestCachedPrefix(hashes.slice(0, hittable));
      const totalBlocksNeeded = Math.ceil((promptLength + 1) / blockSize);
      const newBlocks = totalBlocksNeeded - gpuBlocks;
      // Free cached hits leave the free queue when taken, so they count against what is left to allocate.
      const freeHits = this.pool.freeCachedCount(hashes.slice(0, gpuBlocks));
      if (!this.pool.canAllocate(newBlocks + freeHits)) break; // FIFO: the head waits for blocks
      const hitBlocks = this.pool.acquireCached(hashes.slice(0, gpuBlocks));
      const promoted =
        cpuBlocks > 0
          ? this.pool.promoteFromCpu(
              hashes.slice(gpuBlocks, gpuBlocks + cpuBlocks),
              gpuBlocks > 0 ? (hashes[gpuBlocks - 1] as bigint) : null,
            )
          : [];
      const fresh = this.pool.allocate(newBlocks - cpuBlocks);
      request.blocks = [...hitBlocks, ...promoted, ...fresh];
      request.committedBlocks = gpuBlocks + cpuBlocks;
      request.cachedTokens = (gpuBlocks + cpuBlocks) * blockSize;
      this.waiting.splice(index, 1);
      this.running.add(request);
      if (request.loraKey) runningLoras.add(request.loraKey);
      request.phase = 'prefilling';
      // A request admitted on its first pass starts at arrival: the gap is simulator overhead, not
      // queueing. One that waited for capacity starts now, as vLLM's scheduler would.
      request.scheduledAt = request.queuedForCapacity ? now : request.submittedAt;
      const prefillModelMilliseconds =
        request.input.disaggregationRole === 'decode'
          ? this.latency.kvTransferMilliseconds(promptLength - request.cachedTokens)
          : this.latency.prefillMilliseconds(promptLength, request.cachedTokens, this.running.size);
      request.nextDeadline = request.scheduledAt + this.realMilliseconds(prefillModelMilliseconds);
      this.deadlines.push(request.nextDeadline, request);
      request.observer.onScheduled?.({ cachedTokens: request.cachedTokens });
    }
    for (const request of this.waiting) request.queuedForCapacity = true;
  }

  private completePrefill(request: RunningRequest): void {
    const blockSize = this.options.blockSize;
    const fullPromptBlocks = Math.floor(request.input.promptTokenIds.length / blockSize);
    this.commitBlocks(request, fullPromptBlocks);
    request.firstTokenAt = this.now();
    request.phase = 'decoding';
    this.emitNextToken(request);
  }

  /** Commit the request's full blocks up to `fullBlocks` (prompt blocks at prefill, decode blocks as they fill). */
  private commitBlocks(request: RunningRequest, fullBlocks: number): void {
    const from = request.committedBlocks;
    const upTo = Math.min(fullBlocks, request.blocks.length, request.chain.hashes.length);
    if (upTo <= from) return;
    const blockSize = this.options.blockSize;
    const allTokens = request.input.promptTokenIds;
    const outputTokens = request.input.outputTokenIds;
    const tokenAt = (position: number) =>
      position < allTokens.length
        ? (allTokens[position] as number)
        : (outputTokens[position - allTokens.length] as number);
    const tokenIds: number[] = [];
    for (let position = from * blockSize; position < upTo * blockSize; position++)
      tokenIds.push(tokenAt(position));
    this.pool.commit(request.blocks.slice(from, upTo), request.chain.hashes.slice(from, upTo), {
      parentHash: from > 0 ? (request.chain.hashes[from - 1] as bigint) : null,
      tokenIds,
      loraName: request.input.loraName,
      loraId: null,
    });
    request.committedBlocks = upTo;
  }

  private emitNextToken(request: RunningRequest): void {
    const index = request.tokensEmitted++;
    const outputTokens = request.input.outputTokenIds;
    request.observer.onToken(index);
    if (request.phase === 'finished') return; // the observer aborted
    const isLast = index + 1 >= outputTokens.length || request.input.disaggregationRole === 'prefill';
    if (isLast) {
      this.finish(
        request,
        request.input.disaggregationRole === 'prefill' ? 'remote_decode' : request.input.finishReason,
      );
      return;
    }
    // The sampled token joins the sequence: hash any block it completes, grow the allocation.
    request.chain.append([outputTokens[index] as number]);
    const blockSize = this.options.blockSize;
    const sequenceLength = request.input.promptTokenIds.length + index + 1;
    this.commitBlocks(request, Math.floor(sequenceLength / blockSize));
    if (sequenceLength + 1 > request.blocks.length * blockSize && this.pool.canAllocate(1)) {
      // Without a free block the simulated sequence keeps decoding; its tail just is not cached.
      request.blocks.push(...this.pool.allocate(1));
    }
    request.nextDeadline += this.realMilliseconds(this.latency.interTokenMilliseconds(this.running.size));
    this.deadlines.push(request.nextDeadline, request);
  }

  private finish(request: RunningRequest, finishReason: FinishReason): void {
    if (request.phase === 'finished') return;
    const wasWaiting = request.phase === 'waiting';
    request.phase = 'finished';
    const finishedAt = this.now();
    if (wasWaiting) {
      const position = this.waiting.indexOf(request);
      if (position >= 0) this.waiting.splice(position, 1);
    }
    this.running.delete(request);
    let remoteBlockIds: number[] | null = null;
    let remoteRequestId: string | null = null;
    if (finishReason === 'remote_decode') {
      // Keep the prompt's blocks for the decoder until it reads them or the abort timeout passes.
      // Pins are keyed by an id of our own: a client may repeat its X-Request-Id, and a shared key
      // would leak the first pin and let its timer free the second request's blocks early.
      remoteBlockIds = request.blocks.map((block) => block.id);
      remoteRequestId = `${request.input.requestId}-${randomUUID()}`;
      // A leftover pin under the same key would otherwise lose its blocks for good.
      this.releaseRemoteBlocks(remoteRequestId);
      const pinnedId = remoteRequestId;
      const timer = setTimeout(
        () => this.releaseRemoteBlocks(pinnedId),
        this.realMilliseconds(this.options.remoteBlockTimeoutMilliseconds),
      );
      timer.unref();
      this.pinnedForDecoder.set(remoteRequestId, { blocks: request.blocks, timer });
    } else {
      this.pool.release(request.blocks);
    }
    request.blocks = [];
    const scheduledAt = wasWaiting ? finishedAt : request.scheduledAt;
    const firstTokenAt = request.firstTokenAt || finishedAt;
    const result: EngineRequestResult = {
      finishReason,
      promptTokens: request.input.promptTokenIds.length,
      cachedTokens: request.cachedTokens,
      completionTokens: request.tokensEmitted,
      remoteBlockIds,
      remoteRequestId,
      timings: {
        queueMilliseconds: this.modelMilliseconds(scheduledAt - request.submittedAt),
        prefillMilliseconds: this.modelMilliseconds(firstTokenAt - scheduledAt),
        timeToFirstTokenMilliseconds: this.modelMilliseconds(firstTokenAt - request.submittedAt),
        decodeMilliseconds: this.modelMilliseconds(finishedAt - firstTokenAt),
        endToEndMilliseconds: this.modelMilliseconds(finishedAt - request.submittedAt),
      },
    };
    request.observer.onFinish(result);
    this.requestStep();
  }

  private flushEvents(): void {
    if (this.pendingEvents.length === 0) return;
    const events = this.pendingEvents;
    this.pendingEvents = [];
    this.options.onKvEvents?.(events);
  }
}
