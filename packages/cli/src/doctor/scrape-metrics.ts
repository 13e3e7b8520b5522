import { type EngineMetricMappings, type PrometheusSample, parsePrometheusText } from '@llmd/epp';
import { type HttpGetResult, httpGet } from './http-get.js';

export type EngineMetricMapping = NonNullable<ReturnType<EngineMetricMappings['get']>>;
export type MetricSpec = NonNullable<EngineMetricMapping['queuedRequests']>;

export interface MetricsScrape {
  readonly url: string;
  readonly result: HttpGetResult;
  /** Every sample of a 200 answer; undefined otherwise. */
  readonly samples: ReadonlyArray<PrometheusSample> | undefined;
}

/** GET and parse a Prometheus exposition (vLLM's is a few hundred kB at most; 32 MiB bounds a wrong target). */
export async function scrapeMetrics(url: string, timeoutMilliseconds: number): Promise<MetricsScrape> {
  const result = await httpGet(url, { timeoutMilliseconds, maximumBytes: 32 * 1024 * 1024 });
  const samples =
    result.kind === 'response' && result.status === 200 ? parsePrometheusText(result.body) : undefined;
  return { url, result, samples };
}

export function matchesSpec(sample: PrometheusSample, spec: MetricSpec): boolean {
  if (sample.name !== spec.name) return false;
  return spec.labels.every(([label, value]) => sample.labels[label] === value);
}

/** `name` or `name{label=value}` as the EPP's configuration writes it. */
export function formatSpec(spec: MetricSpec): string {
  if (spec.labels.length === 0) return spec.name;
  return `${spec.name}{${spec.labels.map(([label, value]) => `${label}="${value}"`).join(',')}}`;
}

/** Sum over every series of a metric; undefined when the exposition has none. */
export function sumOfMetric(samples: ReadonlyArray<PrometheusSample>, name: string): number | undefined {
  let sum: number | undefined;
  for (const sample of samples) {
    if (sample.name === name && Number.isFinite(sample.value)) sum = (sum ?? 0) + sample.value;
  }
  return sum;
}
