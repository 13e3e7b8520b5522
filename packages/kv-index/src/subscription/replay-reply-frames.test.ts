import { describe, expect, it } from 'vitest';
import { parseReplayReplyFrames } from './replay-reply-frames.js';
import { encodeSequenceFrame, endOfReplaySequence } from './sequence-frame.js';

const empty = Buffer.alloc(0);
const topic = Buffer.from('kv@10.0.0.7:8000@m');
const payload = Buffer.from([0x93]);
const sequence = encodeSequenceFrame(7n);
const end = encodeSequenceFrame(endOfReplaySequence);

describe('parseReplayReplyFrames', () => {
  it('reads replies with and without a topic, with and without the delimiter', () => {
    const withTopic = { kind: 'batch', topic: 'kv@10.0.0.7:8000@m', sequence: 7n, payload };
    const withoutTopic = { kind: 'batch', topic: undefined, sequence: 7n, payload };
    expect(parseReplayReplyFrames([empty, topic, sequence, payload])).toEqual(withTopic);
    expect(parseReplayReplyFrames([topic, sequence, payload])).toEqual(withTopic);
    expect(parseReplayReplyFrames([empty, sequence, payload])).toEqual(withoutTopic);
    expect(parseReplayReplyFrames([sequence, payload])).toEqual(withoutTopic);
  });

  it('recognises every end marker', () => {
    expect(parseReplayReplyFrames([empty, end, empty])).toEqual({ kind: 'end' });
    expect(parseReplayReplyFrames([empty, empty, end, empty])).toEqual({ kind: 'end' });
    expect(parseReplayReplyFrames([end, empty])).toEqual({ kind: 'end' });
    expect(parseReplayReplyFrames([empty, topic, sequence, empty])).toEqual({ kind: 'end' });
    expect(parseReplayReplyFrames([topic, end, payload])).toEqual({ kind: 'end' });
  });

  it('flags other shapes as malformed', () => {
    expect(parseReplayReplyFrames([payload])).toMatchObject({ kind: 'malformed' });
    expect(parseReplayReplyFrames([empty, topic, Buffer.alloc(4), payload])).toMatchObject({
      kind: 'malformed',
      reason: expect.stringMatching(/4 bytes/),
    });
  });
});
