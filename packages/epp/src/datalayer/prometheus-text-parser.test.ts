/**
 * Prometheus text format parsing: labels, escapes, special values, timestamps, wanted-name filtering.
 */
import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from './prometheus-text-parser.js';

const exposition = [
  '# HELP vllm:num_requests_waiting Number of requests waiting to be processed.',
  '# TYPE vllm:num_requests_waiting gauge',
  'vllm:num_requests_waiting{engine="0",model_name="qwen"} 3.0',
  'vllm:kv_cache_usage_perc{model_name="qwen"} 0.25 1700000000123',
  '  # indented comment',
  '',
  'vllm:e2e_request_latency_seconds_bucket{le="+Inf",model_name="qwen"} 12',
  'vllm:e2e_request_latency_seconds_sum{model_name="qwen"} 4.5e-1',
  'plain_metric 42',
  'spaced_metric { a = "1" , b="2", } -7',
  'special{kind="nan"} NaN',
  'special{kind="pos"} +Inf',
  'special{kind="neg"} -Inf',
  'escaped{path="C:\\\\dir",quote="say \\"hi\\"",newline="a\\nb",other="\\t"} 1',
  'vllm:lora_requests_info{max_lora="2",running_lora_adapters="a1,a2",waiting_lora_adapters=""} 1.7e9',
  'windows_line 5\r',
  'openmetrics_exemplar_total 9 # {trace_id="abc"} 1.0',
  '# EOF',
].join('\n');

describe('parsePrometheusText', () => {
  it('parses every sample when no names are wanted', () => {
    const samples = parsePrometheusText(exposition);
    expect(samples.map((sample) => sample.name)).toEqual([
      'vllm:num_requests_waiting',
      'vllm:kv_cache_usage_perc',
      'vllm:e2e_request_latency_seconds_bucket',
      'vllm:e2e_request_latency_seconds_sum',
      'plain_metric',
      'spaced_metric',
      'special',
      'special',
      'special',
      'escaped',
      'vllm:lora_requests_info',
      'windows_line',
      'openmetrics_exemplar_total',
    ]);
    expect(samples[0]).toEqual({
      name: 'vllm:num_requests_waiting',
      labels: { engine: '0', model_name: 'qwen' },
      value: 3,
      timestamp: undefined,
    });
    expect(samples[1]).toMatchObject({ value: 0.25, timestamp: 1700000000123 });
    expect(samples[2]?.labels.le).toBe('+Inf');
    expect(samples[3]?.value).toBe(0.45);
    expect(samples[4]).toEqual({ name: 'plain_metric', labels: {}, value: 42, timestamp: undefined });
    expect(samples[5]).toMatchObject({ labels: { a: '1', b: '2' }, value: -7 });
    expect(samples[6]?.value).toBeNaN();
    expect(samples[7]?.value).toBe(Number.POSITIVE_INFINITY);
    expect(samples[8]?.value).toBe(Number.NEGATIVE_INFINITY);
    expect(samples[9]?.labels).toEqual({ path: 'C:\\dir', quote: 'say "hi"', newline: 'a\nb', other: '\\t' });
    expect(samples[10]?.labels).toEqual({
      max_lora: '2',
      running_lora_adapters: 'a1,a2',
      waiting_lora_adapters: '',
    });
    expect(samples[10]?.value).toBe(1.7e9);
    expect(samples[11]?.value).toBe(5);
    expect(samples[12]).toMatchObject({ value: 9, timestamp: undefined });
  });

  it('returns only wanted names, matching whole names (not prefixes)', () => {
    const wanted = new Set([
      'vllm:num_requests_waiting',
      'vllm:lora_requests_info',
      'special',
      'vllm:e2e_request_latency_seconds',
    ]);
    const samples = parsePrometheusText(exposition, wanted);
    expect(samples.map((sample) => sample.name)).toEqual([
      'vllm:num_requests_waiting',
      'special',
      'special',
      'special',
      'vllm:lora_requests_info',
    ]);
    expect(parsePrometheusText(exposition, new Set())).toEqual([]);
  });

  it('skips malformed lines instead of failing the scrape', () => {
    const text = [
      'good 1',
      'no_value',
      'bad_value abc',
      'unterminated{a="b} 1',
      'missing_quote{a=b} 1',
      'bad_timestamp 1 soon',
      'also_good{a="x"} 2',
    ].join('\n');
    expect(parsePrometheusText(text).map((sample) => [sample.name, sample.value])).toEqual([
      ['good', 1],
      ['also_good', 2],
    ]);
  });

  it('handles input without a trailing newline and empty input', () => {
    expect(parsePrometheusText('last 7')).toEqual([
      { name: 'last', labels: {}, value: 7, timestamp: undefined },
    ]);
    expect(parsePrometheusText('')).toEqual([]);
  });
});
