import { LlmdError, ValidationError } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { kvEventPublisherOptionsFromConfig, parseKvEventsConfig } from './kv-events-config.js';

function parseError(jsonText: string): LlmdError {
  try {
    parseKvEventsConfig(jsonText);
  } catch (error) {
    if (LlmdError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected parseKvEventsConfig to throw');
}

describe('parseKvEventsConfig', () => {
  it("applies vLLM's defaults", () => {
    expect(parseKvEventsConfig('{}')).toEqual({
      enableKvCacheEvents: false,
      publisher: 'null',
      endpoint: 'tcp://*:5557',
      replayEndpoint: null,
      bufferSteps: 10_000,
      hwm: 100_000,
      maxQueueSize: 100_000,
      topic: '',
    });
  });

  it('defaults the publisher to zmq when events are enabled', () => {
    const config = parseKvEventsConfig(
      '{"enable_kv_cache_events":true,"endpoint":"tcp://*:5556","replay_endpoint":"tcp://*:5559",' +
        '"topic":"kv@10.0.0.7:8000@Qwen/Qwen3-32B","buffer_steps":500}',
    );
    expect(config.publisher).toBe('zmq');
    expect(kvEventPublisherOptionsFromConfig(config)).toEqual({
      endpoint: 'tcp://*:5556',
      topic: 'kv@10.0.0.7:8000@Qwen/Qwen3-32B',
      replayEndpoint: 'tcp://*:5559',
      bufferSteps: 500,
      hwm: 100_000,
      maxQueueSize: 100_000,
    });
  });

  it('yields no publisher options when events are off or the publisher is "null"', () => {
    expect(kvEventPublisherOptionsFromConfig(parseKvEventsConfig('{"publisher":"zmq"}'))).toBeUndefined();
    expect(
      kvEventPublisherOptionsFromConfig(
        parseKvEventsConfig('{"enable_kv_cache_events":true,"publisher":"null"}'),
      ),
    ).toBeUndefined();
  });

  it('names the failing field', () => {
    const error = parseError('{"buffer_steps":0}');
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.code).toBe('invalid_config');
    expect(error.path).toBe('buffer_steps');
    expect(error.message).toMatch(/^--kv-events-config buffer_steps: /);
    expect(parseError('{"hwm":1.5}').message).toMatch(/^--kv-events-config hwm: /);
    expect(parseError('{"publisher":"kafka"}').message).toMatch(/^--kv-events-config publisher: /);
    expect(parseError('{"endpoint":"localhost:5557"}').message).toMatch(
      /^--kv-events-config endpoint: expected a ZeroMQ endpoint/,
    );
  });

  it('rejects unknown fields by name', () => {
    const error = parseError('{"replay_endpont":"tcp://*:5558"}');
    expect(error.code).toBe('invalid_config');
    expect(error.path).toBe('replay_endpont');
    expect(error.message).toMatch(/^--kv-events-config replay_endpont: unknown field \(expected one of /);
  });

  it('reports invalid JSON clearly', () => {
    const error = parseError('{enable_kv_cache_events: true}');
    expect(error.code).toBe('invalid_config');
    expect(error.message).toMatch(/^--kv-events-config is not valid JSON: /);
    expect(parseError('[]').message).toMatch(/^--kv-events-config: /);
  });
});
