import { type DoctorFinding, finding } from './doctor-finding.js';

/** What is known of one engine's block size. */
export interface EngineBlockSizes {
  readonly endpointKey: string;
  /** `block_size` values seen in its BlockStored events. */
  readonly fromEvents: ReadonlyArray<number>;
  /** From its metrics (`vllm:cache_config_info{block_size}`). */
  readonly fromMetrics: number | undefined;
  /** Dense events whose token count is not blocks × block_size. */
  readonly irregularEvents: number;
}

function greatestCommonDivisor(left: number, right: number): number {
  return right === 0 ? left : greatestCommonDivisor(right, left % right);
}

/**
 * Check 3c: the index can cut each engine's blocks into its own. An engine block must be a
 * multiple of the index block (kv-events.md §8 #2): otherwise every event yields no index key and
 * is dropped, and prefix scores stay 0. `indexBlockSize` is undefined when the index's is unknown.
 */
export function checkBlockSize(
  engines: ReadonlyArray<EngineBlockSizes>,
  indexBlockSize: number | undefined,
): DoctorFinding[] {
  const findings: DoctorFinding[] = [];
  const used = new Map<string, number>();
  for (const engine of engines) {
    const key = engine.endpointKey;
    const fromEvents = engine.fromEvents;
    const source = fromEvents.length > 0 ? 'publishes' : 'reports (in its metrics)';
    const sizes =
      fromEvents.length > 0 ? fromEvents : engine.fromMetrics === undefined ? [] : [engine.fromMetrics];
    if (sizes.length === 0) continue;
    used.set(key, sizes[0] as number);
    // The metric-names check already shows the block size from metrics; alone it is no finding.
    if (fromEvents.length === 0 && indexBlockSize === undefined) continue;
    const before = findings.length;
    if (fromEvents.length > 1) {
      findings.push(
        finding(
          'warn',
          'block-size',
          `${key} publishes blocks of several sizes (${fromEvents.join(', ')} tokens): a hybrid model or an offload connector with its own chunk size`,
          key,
        ),
      );
    }
    if (engine.fromMetrics !== undefined) {
      for (const size of fromEvents) {
        if (size === engine.fromMetrics) continue;
        findings.push(
          finding(
            'warn',
            'block-size',
            `${key}'s events carry ${size}-token blocks but its metrics report block_size ${engine.fromMetrics} (an LMCache chunk size?): the EPP's capacity estimates use the metrics`,
            key,
          ),
        );
      }
    }
    if (engine.irregularEvents > 0) {
      findings.push(
        finding(
          'warn',
          'block-size',
          `${key}: ${engine.irregularEvents} event(s) carry a token count that is not blocks × block_size; the index drops those`,
          key,
        ),
      );
    }
    if (indexBlockSize !== undefined) {
      for (const size of sizes) {
        if (size % indexBlockSize === 0) continue;
        const fitting = greatestCommonDivisor(size, indexBlockSize);
        findings.push(
          finding(
            'fail',
            'block-size',
            `${key} ${source} ${size}-token blocks but the index uses ${indexBlockSize}-token blocks: ${size} is not a multiple of ${indexBlockSize}, so the index drops every event from it and its prefix scores stay 0; set the index's --block-size to ${size}${fitting !== size && fitting > 1 ? ` (or ${fitting})` : ''}, or the engine's --block-size to a multiple of ${indexBlockSize}`,
            key,
          ),
        );
      }
    }
    if (findings.length === before) {
      const size = sizes[0] as number;
      const split =
        indexBlockSize === undefined
          ? ''
          : size === indexBlockSize
            ? ', as the index'
            : `; the index splits each into ${size / indexBlockSize} blocks of ${indexBlockSize}`;
      findings.push(finding('ok', 'block-size', `${key} ${source} ${size}-token blocks${split}`, key));
    }
  }
  const distinct = new Set(used.values());
  if (distinct.size > 1) {
    findings.push(
      finding(
        'warn',
        'block-size',
        `the engines use different block sizes (${[...used].map(([key, size]) => `${key}: ${size}`).join(', ')}): prefixes are cached in different units on each, and one index block size must divide them all`,
      ),
    );
  }
  return findings;
}
