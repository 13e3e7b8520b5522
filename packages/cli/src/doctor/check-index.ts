import type { PrometheusSample } from '@llmd/epp';
import { z } from 'zod';
import { type DoctorFinding, finding } from './doctor-finding.js';
import { type HttpGetResult, httpGet } from './http-get.js';
import { scrapeMetrics, sumOfMetric } from './scrape-metrics.js';

const endpointListingSchema = z.object({
  endpoints: z.array(
    z.object({
      endpoint: z.string(),
      blocks: z.record(z.string(), z.number()),
      state: z.string().optional(),
    }),
  ),
});

export interface IndexEndpointEntry {
  readonly endpointKey: string;
  /** Blocks held over all tiers. */
  readonly blocks: number;
  /** The event stream's state (`synced`, `replaying`, `uncertain`, or `unknown`). */
  readonly state: string;
}

export interface IndexState {
  readonly url: string;
  readonly listingResult: HttpGetResult;
  /** Undefined when `/v1/endpoints` did not answer with a listing. */
  readonly entries: ReadonlyArray<IndexEndpointEntry> | undefined;
  /** The index's own metrics; undefined when they could not be read. */
  readonly metrics: ReadonlyArray<PrometheusSample> | undefined;
}

/** What `llmd index` holds per endpoint (`GET /v1/endpoints`) and its counters (`GET /metrics`). */
export async function fetchIndexState(url: string, timeoutMilliseconds: number): Promise<IndexState> {
  const base = url.replace(/\/+$/, '');
  const [listingResult, metrics] = await Promise.all([
    httpGet(`${base}/v1/endpoints`, { timeoutMilliseconds }),
    scrapeMetrics(`${base}/metrics`, timeoutMilliseconds),
  ]);
  let entries: IndexEndpointEntry[] | undefined;
  if (listingResult.kind === 'response' && listingResult.status === 200) {
    try {
      const parsed = endpointListingSchema.safeParse(JSON.parse(listingResult.body));
      if (parsed.success) {
        entries = parsed.data.endpoints.map((entry) => ({
          endpointKey: entry.endpoint,
          blocks: Object.values(entry.blocks).reduce((sum, count) => sum + count, 0),
          state: entry.state ?? 'unknown',
        }));
      }
    } catch {
      entries = undefined;
    }
  }
  return { url: base, listingResult, entries, metrics: metrics.samples };
}

/** Traffic an engine served, from two scrapes of its counters. */
export interface EngineTraffic {
  readonly endpointKey: string;
  /** Prompt tokens since the engine started, at the end of the check; undefined when unknown. */
  readonly servedPromptTokens: number | undefined;
  /** Prompt tokens taken in while the doctor listened; undefined when unknown. */
  readonly promptTokensDuringWindow: number | undefined;
}

/** Index counters that mean something is wrong, with what it means. */
const indexCounterFindings: ReadonlyArray<{
  readonly name: string;
  readonly status: 'warn' | 'fail';
  readonly describe: (count: number) => string;
}> = [
  {
    name: 'kvcache_index_engine_hash_mismatches_total',
    status: 'fail',
    describe: (count) =>
      `the index counted ${count} event(s) whose block hashes differ from its --engine-hash-algo and --engine-hash-seed: an engine runs with another algorithm or PYTHONHASHSEED`,
  },
  {
    name: 'kvcache_index_block_size_mismatches_total',
    status: 'fail',
    describe: (count) =>
      `the index dropped ${count} event(s) whose block size is not a multiple of its --block-size: those engines' prefixes are never scored`,
  },
  {
    name: 'kvcache_index_handler_errors_total',
    status: 'fail',
    describe: (count) => `indexing failed ${count} time(s): is the index's Redis/Valkey reachable?`,
  },
  {
    name: 'kvcache_index_malformed_messages_total',
    status: 'warn',
    describe: (count) =>
      `the index could not read ${count} KV-event message(s): check the engines' event format`,
  },
  {
    name: 'kvcache_index_orphaned_events_total',
    status: 'warn',
    describe: (count) =>
      `the index dropped ${count} event(s) whose parent block never arrived (events lost before it connected): give it the engines' replay sockets`,
  },
  {
    name: 'kvcache_index_uncertain_streams_total',
    status: 'warn',
    describe: (count) =>
      `the index lost KV events for good ${count} time(s): its scores may be stale until those engines restart`,
  },
];

const likelyCauses =
  'likely causes: KV events are off on the engine (enable_kv_cache_events), its topic names another address than the endpoint, or the index dials or binds the wrong socket port';

/**
 * Check 4: the index holds blocks for every engine that serves traffic, only under endpoint keys
 * the EPP knows, and its own counters show no dropped or mismatched events.
 */
export function checkIndex(state: IndexState, engines: ReadonlyArray<EngineTraffic>): DoctorFinding[] {
  const url = state.url;
  const result = state.listingResult;
  if (result.kind === 'error') {
    return [finding('fail', 'index', `the index at ${url} is unreachable: ${result.reason}`, url)];
  }
  if (state.entries === undefined) {
    return [
      finding(
        'fail',
        'index',
        `GET ${url}/v1/endpoints gave ${result.status === 200 ? 'no endpoint listing' : `HTTP ${result.status}`}: is this an llmd index service (llmd index --http-port)?`,
        url,
      ),
    ];
  }
  const findings: DoctorFinding[] = [];
  const entries = new Map(state.entries.map((entry) => [entry.endpointKey, entry]));
  for (const engine of engines) {
    const key = engine.endpointKey;
    const entry = entries.get(key);
    const blocks = entry?.blocks ?? 0;
    if (blocks > 0) {
      findings.push(finding('ok', 'index', `the index holds ${blocks} blocks for ${key}`, key));
      if (entry?.state === 'uncertain') {
        findings.push(
          finding(
            'warn',
            'index',
            `the index lost some of ${key}'s KV events for good: its scores for it may be stale until the engine restarts (a replay socket prevents this)`,
            key,
          ),
        );
      }
    } else if (engine.promptTokensDuringWindow !== undefined && engine.promptTokensDuringWindow > 0) {
      findings.push(
        finding(
          'fail',
          'index',
          `index empty while traffic flows: ${key} took in ${engine.promptTokensDuringWindow} prompt tokens during the check, but the index holds no blocks for it; ${likelyCauses}`,
          key,
        ),
      );
    } else if (engine.servedPromptTokens !== undefined && engine.servedPromptTokens > 0) {
      findings.push(
        finding(
          'warn',
          'index',
          `the index holds no blocks for ${key}, although it has served ${engine.servedPromptTokens} prompt tokens since it started; unless its cache was cleared since, ${likelyCauses}`,
          key,
        ),
      );
    } else {
      findings.push(
        finding('ok', 'index', `the index holds no blocks for ${key} yet, and it has served no traffic`, key),
      );
    }
  }
  const known = new Set(engines.map((engine) => engine.endpointKey));
  for (const entry of state.entries) {
    if (known.has(entry.endpointKey) || entry.blocks === 0) continue;
    findings.push(
      finding(
        engines.length > 0 ? 'warn' : 'ok',
        'index',
        engines.length > 0
          ? `the index holds ${entry.blocks} blocks under ${entry.endpointKey}, which is none of the endpoints checked: if one of these engines publishes them, its topic names another address than the EPP uses (pod IP against service, or a missing port)`
          : `the index holds ${entry.blocks} blocks for ${entry.endpointKey}`,
        entry.endpointKey,
      ),
    );
  }
  if (state.metrics === undefined) {
    findings.push(
      finding(
        'warn',
        'index',
        `could not read the index's ${url}/metrics: its counters were not checked`,
        url,
      ),
    );
  } else {
    for (const counter of indexCounterFindings) {
      const count = sumOfMetric(state.metrics, counter.name) ?? 0;
      if (count > 0) findings.push(finding(counter.status, 'index', counter.describe(count), url));
    }
  }
  if (findings.length === 0)
    findings.push(finding('ok', 'index', `the index at ${url} answers and holds no blocks`, url));
  return findings;
}
