import type { BenchResult } from './bench-result.js';
import type { NamedBenchResult } from './named-result.js';
import type { OracleHitRate } from './oracle-hit-rate.js';

/** What `--out results.json` holds: every setup's result under its name. */
export interface BenchResultsDocument {
  kind: 'llmd-bench-results';
  /** Bumped when a field changes meaning; fields are only ever added within a version. */
  version: 1;
  results: Array<{ name: string; result: BenchResult }>;
  /** The best achievable hit rate of the same request sequence (shared-prefix comparisons). */
  oracle?: OracleHitRate;
  /** How the local clusters were set up (`--compare`): pods, simulator settings, setup descriptions. */
  clusters?: Readonly<Record<string, unknown>>;
}

export interface ResultsDocumentExtras {
  oracle?: OracleHitRate | undefined;
  clusters?: Readonly<Record<string, unknown>> | undefined;
}

export function createResultsDocument(
  entries: readonly NamedBenchResult[],
  extras: ResultsDocumentExtras = {},
): BenchResultsDocument {
  return {
    kind: 'llmd-bench-results',
    version: 1,
    results: entries.map((entry) => ({ name: entry.name, result: entry.result })),
    ...(extras.oracle ? { oracle: extras.oracle } : {}),
    ...(extras.clusters ? { clusters: extras.clusters } : {}),
  };
}

/** The results document as indented JSON ending with a newline. */
export function formatResultsJson(
  entries: readonly NamedBenchResult[],
  extras: ResultsDocumentExtras = {},
): string {
  return `${JSON.stringify(createResultsDocument(entries, extras), null, 2)}\n`;
}
