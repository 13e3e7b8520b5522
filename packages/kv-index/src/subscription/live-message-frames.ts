import { frameText } from './frame-text.js';
import { decodeSequenceFrame } from './sequence-frame.js';

/** One live PUB message, split into its parts but not yet decoded. */
export interface LiveMessage {
  /** Empty when the publisher sends no topic (vLLM's default). */
  readonly topic: string;
  readonly sequence: bigint;
  readonly payload: Uint8Array;
}

export type LiveMessageFrames =
  | { readonly ok: true; readonly message: LiveMessage }
  | { readonly ok: false; readonly reason: string; readonly topic: string | undefined };

export interface ParseLiveMessageFramesOptions {
  /**
   * Whether `[seq, payload]` without a topic frame is acceptable. Only when the socket is
   * dedicated to one known publisher: otherwise nothing says whose sequence it is.
   */
  readonly allowMissingTopic: boolean;
}

/** Splits `[topic, seq (8 B BE), payload]` (kv-events.md §4.2), or `[seq, payload]` when allowed. */
export function parseLiveMessageFrames(
  frames: ReadonlyArray<Uint8Array>,
  options: ParseLiveMessageFramesOptions,
): LiveMessageFrames {
  let topic: string;
  let sequenceFrame: Uint8Array;
  let payload: Uint8Array;
  if (frames.length === 3) {
    const [topicFrame, second, third] = frames as [Uint8Array, Uint8Array, Uint8Array];
    topic = frameText(topicFrame);
    sequenceFrame = second;
    payload = third;
  } else if (frames.length === 2) {
    if (!options.allowMissingTopic) {
      return {
        ok: false,
        reason: 'a 2-frame message has no topic, so its publisher cannot be identified on a shared socket',
        topic: undefined,
      };
    }
    [sequenceFrame, payload] = frames as [Uint8Array, Uint8Array];
    topic = '';
  } else {
    return {
      ok: false,
      reason: `expected 3 frames [topic, seq, payload], got ${frames.length}`,
      topic: frames.length > 0 && frames[0] !== undefined ? frameText(frames[0]).slice(0, 200) : undefined,
    };
  }
  const sequence = decodeSequenceFrame(sequenceFrame);
  if (sequence === undefined) {
    return { ok: false, reason: `the sequence frame has ${sequenceFrame.length} bytes, expected 8`, topic };
  }
  if (payload.length === 0) return { ok: false, reason: `batch ${sequence} has an empty payload`, topic };
  return { ok: true, message: { topic, sequence, payload } };
}
