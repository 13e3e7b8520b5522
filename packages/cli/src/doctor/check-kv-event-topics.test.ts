import { describe, expect, it } from 'vitest';
import { checkKvEventTopics } from './check-kv-event-topics.js';
import type { KvEventObservation } from './collect-kv-events.js';

function observed(...topics: string[]): KvEventObservation {
  return {
    target: { endpointKey: '10.0.0.7:8000', eventsEndpoint: 'tcp://10.0.0.7:5557' },
    unreachable: undefined,
    replayUnreachable: undefined,
    batches: topics.length,
    events: topics.length,
    storedEvents: 0,
    malformed: 0,
    topics: new Map(topics.map((topic) => [topic, 1])),
    blockSizes: new Map(),
    irregularEvents: 0,
    rootSamples: [],
  };
}

const messages = (topics: string[], served = ['qwen']) =>
  checkKvEventTopics(observed(...topics), served).map((item) => `${item.status} ${item.message}`);

describe('checkKvEventTopics', () => {
  it('accepts kv@<ip:port>@<model> for the right endpoint and model', () => {
    expect(messages(['kv@10.0.0.7:8000@qwen'])).toEqual([
      'ok 10.0.0.7:8000 publishes under "kv@10.0.0.7:8000@qwen"',
    ]);
  });

  it("reports vLLM's empty default topic, a topic without port, another endpoint, another model", () => {
    expect(messages([''])).toEqual([
      expect.stringMatching(/^fail 10.0.0.7:8000 publishes with an empty topic/),
    ]);
    expect(messages(['kv@10.0.0.7@qwen'])).toEqual([
      expect.stringMatching(
        /^warn 10.0.0.7:8000: topic "kv@10.0.0.7@qwen" has no port .* files these blocks under "10.0.0.7"/,
      ),
    ]);
    expect(messages(['kv@10.0.0.9:8000@qwen'])).toEqual([
      expect.stringMatching(
        /^fail 10.0.0.7:8000: topic "kv@10.0.0.9:8000@qwen" names 10.0.0.9:8000, not 10.0.0.7:8000/,
      ),
    ]);
    expect(messages(['kv@10.0.0.7:8000@llama'])).toEqual([
      expect.stringMatching(/^warn 10.0.0.7:8000: the topic's model "llama" is not one it serves \("qwen"\)/),
    ]);
    expect(messages(['kv@bad address@qwen'])).toEqual([
      expect.stringMatching(/^fail 10.0.0.7:8000: topic "kv@bad address@qwen" is not kv@<ip:port>@<model>/),
    ]);
  });
});
