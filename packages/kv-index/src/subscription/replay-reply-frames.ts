import { frameText } from './frame-text.js';
import { decodeSequenceFrame, endOfReplaySequence } from './sequence-frame.js';

export type ReplayReply =
  | {
      readonly kind: 'batch';
      /** Undefined for replies without a topic (vLLM before PR #45177). */
      readonly topic: string | undefined;
      readonly sequence: bigint;
      readonly payload: Uint8Array;
    }
  | { readonly kind: 'end' }
  | { readonly kind: 'malformed'; readonly reason: string };

/**
 * Reads one message a DEALER receives from a KV-event replay ROUTER (kv-events.md §4.4). Replies
 * have changed shape across vLLM versions and consumers, so all of these are accepted, with or
 * without the ROUTER's leading empty delimiter:
 * `[seq, payload]`, `[topic, seq, payload]`, and as the end marker either sequence
 * `0xffffffffffffffff` or an empty payload (llm-d-router's "3 frames with an empty third").
 */
export function parseReplayReplyFrames(frames: ReadonlyArray<Uint8Array>): ReplayReply {
  let parts = frames;
  // `["", topic, seq, payload]`: the delimiter is only unambiguous when a topic frame follows it;
  // in `["", seq, payload]` the empty frame reads the same as an empty topic, which is harmless.
  if (parts.length === 4 && parts[0]?.length === 0) parts = parts.slice(1);
  let topicFrame: Uint8Array | undefined;
  let sequenceFrame: Uint8Array;
  let payload: Uint8Array;
  if (parts.length === 3)
    [topicFrame, sequenceFrame, payload] = parts as [Uint8Array, Uint8Array, Uint8Array];
  else if (parts.length === 2) [sequenceFrame, payload] = parts as [Uint8Array, Uint8Array];
  else return { kind: 'malformed', reason: `a replay reply has ${frames.length} frames` };

  const sequence = decodeSequenceFrame(sequenceFrame);
  if (sequence === undefined) {
    return { kind: 'malformed', reason: `a replay reply's sequence frame has ${sequenceFrame.length} bytes` };
  }
  if (sequence === endOfReplaySequence || payload.length === 0) return { kind: 'end' };
  const topic = topicFrame === undefined || topicFrame.length === 0 ? undefined : frameText(topicFrame);
  return { kind: 'batch', topic, sequence, payload };
}
