import { describe, expect, it } from 'vitest';
import { parseLiveMessageFrames } from './live-message-frames.js';
import { encodeSequenceFrame } from './sequence-frame.js';

const topic = Buffer.from('kv@10.0.0.7:8000@m');
const payload = Buffer.from([0x93]);

describe('parseLiveMessageFrames', () => {
  it('splits [topic, seq, payload]', () => {
    expect(
      parseLiveMessageFrames([topic, encodeSequenceFrame(258n), payload], { allowMissingTopic: false }),
    ).toEqual({
      ok: true,
      message: { topic: 'kv@10.0.0.7:8000@m', sequence: 258n, payload },
    });
  });

  it('accepts [seq, payload] only from a dedicated socket', () => {
    const frames = [encodeSequenceFrame(1n), payload];
    expect(parseLiveMessageFrames(frames, { allowMissingTopic: true })).toMatchObject({
      ok: true,
      message: { topic: '', sequence: 1n },
    });
    expect(parseLiveMessageFrames(frames, { allowMissingTopic: false })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/cannot be identified/),
    });
  });

  it('explains what is wrong with malformed messages', () => {
    const options = { allowMissingTopic: false };
    expect(parseLiveMessageFrames([topic], options)).toMatchObject({
      ok: false,
      reason: 'expected 3 frames [topic, seq, payload], got 1',
      topic: 'kv@10.0.0.7:8000@m',
    });
    expect(parseLiveMessageFrames([topic, Buffer.alloc(7), payload], options)).toMatchObject({
      ok: false,
      reason: 'the sequence frame has 7 bytes, expected 8',
    });
    expect(parseLiveMessageFrames([topic, encodeSequenceFrame(3n), Buffer.alloc(0)], options)).toMatchObject({
      ok: false,
      reason: 'batch 3 has an empty payload',
    });
  });
});
