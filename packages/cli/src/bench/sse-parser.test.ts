import { describe, expect, it } from 'vitest';
import { SseParser } from './sse-parser.js';

describe('SseParser', () => {
  it('returns data payloads of completed events across arbitrary chunk boundaries', () => {
    const stream = 'data: {"a":1}\n\n: keep-alive\n\nevent: x\ndata: first\ndata: second\n\ndata: [DONE]\n\n';
    for (let split = 0; split <= stream.length; split++) {
      const parser = new SseParser();
      const events = [...parser.push(stream.slice(0, split)), ...parser.push(stream.slice(split))];
      expect(events).toEqual(['{"a":1}', 'first\nsecond', '[DONE]']);
      expect(parser.finish()).toBeUndefined();
    }
  });

  it('accepts CRLF and CR line endings, also split between chunks', () => {
    const parser = new SseParser();
    expect(parser.push('data: one\r')).toEqual([]);
    expect(parser.push('\n\r\ndata:two\r\r')).toEqual(['one', 'two']);
  });

  it('hands back an event the stream ended inside', () => {
    const parser = new SseParser();
    expect(parser.push('data: tail')).toEqual([]);
    expect(parser.finish()).toBe('tail');
  });

  it('bounds the buffered line and event', () => {
    expect(() => new SseParser(10).push('data: 0123456789abc')).toThrow(/exceeds 10 characters/);
    const parser = new SseParser(10);
    parser.push('data: 01234\n');
    expect(() => parser.push('data: 567890\n')).toThrow(/exceeds 10 characters/);
  });
});
