import type { BenchResult } from './bench-result.js';
import type { NamedBenchResult } from './named-result.js';

/** What `--out results.json` holds: every setup's result under its name. */
export interface BenchResultsDocument {
  kind: 'llmd-bench-results';
  /** Bumped when a field changes meaning; fields are only ever added within a version. */
  version: 1;
  results: Array<{ name: string; result: BenchResult }>;
}

export function createResultsDocument(entries: readonly NamedBenchResult[]): BenchResultsDocument {
  return {
    kind: 'llmd-bench-results',
    version: 1,
    results: entries.map((entry) => ({ name: entry.name, result: entry.result })),
  };
}

/** The results document as indented JSON ending with a newline. */
export function formatResultsJson(entries: readonly NamedBenchResult[]): string {
  return `${JSON.stringify(createResultsDocument(entries), null, 2)}\n`;
}
