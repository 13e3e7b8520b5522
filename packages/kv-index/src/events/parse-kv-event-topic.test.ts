import { InvalidArgumentError } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { parseKvEventTopic } from './parse-kv-event-topic.js';

describe('parseKvEventTopic', () => {
  it('parses kv@<ip:port>@<model>', () => {
    expect(parseKvEventTopic('kv@10.0.0.7:8000@Qwen/Qwen3-32B')).toEqual({
      endpointKey: '10.0.0.7:8000',
      modelName: 'Qwen/Qwen3-32B',
      host: '10.0.0.7',
      port: 8000,
    });
  });

  it('keeps everything after the second @ as the model name', () => {
    expect(parseKvEventTopic('kv@10.0.0.7:8000@org/model@rev-1')).toMatchObject({
      endpointKey: '10.0.0.7:8000',
      modelName: 'org/model@rev-1',
    });
    expect(parseKvEventTopic('kv@pod-a.ns.svc:8000@@odd')).toMatchObject({
      endpointKey: 'pod-a.ns.svc:8000',
      modelName: '@odd',
    });
  });

  it('accepts the older portless form, with or without a default port', () => {
    expect(parseKvEventTopic('kv@10.0.0.7@m')).toEqual({
      endpointKey: '10.0.0.7',
      modelName: 'm',
      host: '10.0.0.7',
      port: undefined,
    });
    expect(parseKvEventTopic('kv@10.0.0.7@m', { defaultPort: 8000 })).toMatchObject({
      endpointKey: '10.0.0.7:8000',
      port: 8000,
    });
    // An explicit port wins over the default.
    expect(parseKvEventTopic('kv@10.0.0.7:9000@m', { defaultPort: 8000 })?.endpointKey).toBe('10.0.0.7:9000');
  });

  it('accepts bracketed IPv6 addresses', () => {
    expect(parseKvEventTopic('kv@[fd00::7]:8000@m')).toMatchObject({
      endpointKey: '[fd00::7]:8000',
      host: 'fd00::7',
    });
    expect(parseKvEventTopic('kv@[fd00::7]@m', { defaultPort: 8000 })?.endpointKey).toBe('[fd00::7]:8000');
  });

  it('returns null for topics outside the convention', () => {
    for (const topic of [
      '',
      'kv@',
      'kv@10.0.0.7:8000',
      'kv@10.0.0.7:8000@',
      'kv@@model',
      'KV@10.0.0.7:8000@m',
      'events@10.0.0.7:8000@m',
      'kv@10.0.0.7:0@m',
      'kv@10.0.0.7:70000@m',
      'kv@10.0.0.7:80a@m',
      'kv@10.0.0.7:@m',
      'kv@fd00::7:8000@m',
      'kv@host name:8000@m',
    ]) {
      expect(parseKvEventTopic(topic), topic).toBeNull();
    }
  });

  it('rejects an invalid default port', () => {
    expect(() => parseKvEventTopic('kv@a@m', { defaultPort: 0 })).toThrow(InvalidArgumentError);
  });
});
