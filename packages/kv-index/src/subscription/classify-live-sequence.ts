/** Where one publisher's stream stands. */
export interface SequencePosition {
  /**
   * Last sequence handed to the consumer; null before anything was delivered, and −1 right after
   * an engine restart (the next expected batch is then 0).
   */
  readonly lastDelivered: bigint | null;
  /** Last sequence read from the live stream (not from a replay); null before the first. */
  readonly lastReceived: bigint | null;
}

/**
 * - `first`: nothing seen yet from this publisher;
 * - `next`: exactly the expected batch;
 * - `gap`: batches are missing before this one;
 * - `duplicate`: already delivered, by a replay that ran ahead of the live stream;
 * - `restart`: the live stream went backwards, which one engine process never does.
 */
export type LiveSequenceVerdict = 'first' | 'next' | 'gap' | 'duplicate' | 'restart';

/**
 * Classifies a live batch's sequence number. Live sequences of one engine process only grow, so
 * "not above the last live one" can only mean a new process (vLLM restarts at 0). A batch that is
 * above the last live one but not above the last delivered one was delivered by a replay that
 * overtook the live stream, and is a duplicate rather than a restart.
 */
export function classifyLiveSequence(position: SequencePosition, sequence: bigint): LiveSequenceVerdict {
  const { lastDelivered, lastReceived } = position;
  if (lastReceived === null && lastDelivered === null) return 'first';
  if (lastReceived !== null && sequence <= lastReceived) return 'restart';
  const expected = (lastDelivered ?? -1n) + 1n;
  if (sequence < expected) return 'duplicate';
  return sequence === expected ? 'next' : 'gap';
}
