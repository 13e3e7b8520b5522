import { LlmdError } from '@llmd/core';
import { Dealer } from 'zeromq';
import { parseReplayReplyFrames, type ReplayReply } from './replay-reply-frames.js';
import { encodeSequenceFrame } from './sequence-frame.js';

export interface RequestReplayOptions {
  /** The publisher's replay ROUTER, e.g. `tcp://10.0.0.7:5558`. */
  readonly endpoint: string;
  /** First sequence number wanted. */
  readonly startSequence: bigint;
  /** Longest wait for the request to leave and for each reply message. */
  readonly timeoutMilliseconds: number;
  /** Aborting ends the replay quietly: the iteration simply stops. */
  readonly signal?: AbortSignal;
}

/** One replayed message, in the order the publisher sent them (the end marker is not yielded). */
export type ReplayItem = Exclude<ReplayReply, { kind: 'end' }>;

/** Requests a replay and yields its replies; a parameter of the stream so tests can fake it. */
export type ReplayRequester = (options: RequestReplayOptions) => AsyncIterable<ReplayItem>;

/**
 * Asks a publisher's replay socket for every buffered batch from `startSequence` on
 * (kv-events.md §4.4). A DEALER is used because a REQ socket would read only the first reply.
 * Each call uses its own short-lived socket so replies can never mix between replays.
 *
 * Throws when the publisher does not answer in time (including when nothing listens at the
 * endpoint: ZeroMQ queues the request and keeps reconnecting, so only the timeout can tell).
 */
export async function* requestReplay(options: RequestReplayOptions): AsyncGenerator<ReplayItem> {
  const { endpoint, startSequence, timeoutMilliseconds, signal } = options;
  if (signal?.aborted) return;
  // Unlimited receive queue: vLLM's ROUTER drops replies to a full peer instead of waiting, and a
  // replay is bounded by the publisher's buffer (`buffer_steps`) anyway.
  const dealer = new Dealer({
    linger: 0,
    receiveHighWaterMark: 0,
    receiveTimeout: timeoutMilliseconds,
    sendTimeout: timeoutMilliseconds,
  });
  const closeOnAbort = (): void => dealer.close();
  signal?.addEventListener('abort', closeOnAbort, { once: true });
  let waitingFor = 'the request to be sent';
  try {
    dealer.connect(endpoint);
    await dealer.send([Buffer.alloc(0), encodeSequenceFrame(startSequence)]);
    waitingFor = 'a reply';
    for (;;) {
      const reply = parseReplayReplyFrames(await dealer.receive());
      if (reply.kind === 'end') return;
      yield reply;
      waitingFor = 'the next reply';
    }
  } catch (error) {
    if (signal?.aborted) return;
    const timedOut = (error as { code?: unknown } | null)?.code === 'EAGAIN';
    const reason = timedOut
      ? `timed out after ${timeoutMilliseconds} ms waiting for ${waitingFor}`
      : error instanceof Error
        ? error.message
        : String(error);
    throw new LlmdError(
      'internal',
      `KV-event replay from ${startSequence} at ${endpoint} failed: ${reason}`,
      {
        cause: error,
      },
    );
  } finally {
    signal?.removeEventListener('abort', closeOnAbort);
    if (!dealer.closed) dealer.close();
  }
}
