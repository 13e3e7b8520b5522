import { type BlockStoredEvent, type EngineHashAlgorithm, isEngineHashAlgorithm } from '@llmd/core';
import {
  type BlockHashing,
  BlockHashMatcher,
  commonHashSeeds,
  detectBlockHashing,
  hashingCandidates,
} from './detect-block-hashing.js';
import { type DoctorFinding, finding } from './doctor-finding.js';

/** What the doctor has to go on for one engine. */
export interface EngineHashEvidence {
  readonly endpointKey: string;
  /** BlockStored events at the start of a sequence, whose hashes can be recomputed. */
  readonly rootSamples: ReadonlyArray<BlockStoredEvent>;
  readonly storedEvents: number;
  /** `prefix_caching_hash_algo` from the engine's metrics, when it reports one. */
  readonly reportedAlgorithm: string | undefined;
}

/** What the index expects; either part may be unknown. */
export interface ExpectedBlockHashing {
  readonly algorithm?: EngineHashAlgorithm | undefined;
  readonly seed?: string | undefined;
}

const quote = (seed: string) => JSON.stringify(seed);
/** A seed as it would be typed in a shell: bare when that is unambiguous. */
const shellWord = (seed: string) => (/^[\w.:-]+$/.test(seed) ? seed : `'${seed.replaceAll("'", "'\\''")}'`);
const describe = (hashing: BlockHashing) => `${hashing.algorithm} with seed ${quote(hashing.seed)}`;

function mismatchMessage(
  key: string,
  detected: BlockHashing,
  expected: ExpectedBlockHashing,
): string | undefined {
  const fixes: string[] = [];
  if (expected.algorithm !== undefined && expected.algorithm !== detected.algorithm) {
    fixes.push(`run the engine with --prefix-caching-hash-algo ${expected.algorithm}`);
  }
  if (expected.seed !== undefined && expected.seed !== detected.seed) {
    fixes.push(`set PYTHONHASHSEED=${shellWord(expected.seed)} on the engine`);
  }
  if (fixes.length === 0) return undefined;
  const wanted: BlockHashing = {
    algorithm: expected.algorithm ?? detected.algorithm,
    seed: expected.seed ?? detected.seed,
  };
  return `${key} hashes blocks with ${describe(detected)}, but the index expects ${describe(wanted)}: the index will count every event from it as a hash mismatch; ${fixes.join(' and ')}, or give the index --engine-hash-algo ${detected.algorithm} --engine-hash-seed ${shellWord(detected.seed)}`;
}

/**
 * Check 3d: recompute the hashes of each engine's root BlockStored events with the algorithm and
 * seed the index expects; when they differ, search the other algorithms and common seeds and say
 * which one the engine uses (or that none matches, which points at an unset PYTHONHASHSEED).
 */
export function checkBlockHashes(
  engines: ReadonlyArray<EngineHashEvidence>,
  expected: ExpectedBlockHashing,
): DoctorFinding[] {
  const findings: DoctorFinding[] = [];
  const detectedByEngine = new Map<string, BlockHashing>();
  const matcher = new BlockHashMatcher();
  const somethingExpected = expected.algorithm !== undefined || expected.seed !== undefined;
  for (const engine of engines) {
    const key = engine.endpointKey;
    if (engine.rootSamples.length === 0) {
      if (engine.storedEvents > 0 && somethingExpected) {
        findings.push(
          finding(
            'warn',
            'block-hashes',
            `${key}: none of its ${engine.storedEvents} BlockStored events started a sequence, so its hash algorithm and seed could not be checked; send a new prompt during the check`,
            key,
          ),
        );
      }
      continue;
    }
    const reported =
      engine.reportedAlgorithm !== undefined && isEngineHashAlgorithm(engine.reportedAlgorithm)
        ? engine.reportedAlgorithm
        : undefined;
    const candidates = hashingCandidates([expected.algorithm, reported], [expected.seed]);
    const detected = detectBlockHashing(engine.rootSamples, candidates, matcher);
    if (detected === undefined) {
      const tried = [
        ...new Set([...(expected.seed === undefined ? [] : [expected.seed]), ...commonHashSeeds]),
      ]
        .map(quote)
        .join(', ');
      // Every algorithm was tried with every seed listed; name the expected pair when there is one.
      const expectedAlgorithm = expected.algorithm ?? reported;
      const neither =
        expected.seed !== undefined && expectedAlgorithm !== undefined
          ? `neither ${describe({ algorithm: expectedAlgorithm, seed: expected.seed })} nor `
          : '';
      findings.push(
        finding(
          somethingExpected ? 'fail' : 'warn',
          'block-hashes',
          `${key}'s block hashes match ${neither}any algorithm with a common seed (tried ${tried}): it probably runs without PYTHONHASHSEED, so vLLM picks a random seed in every process and its hashes change on each restart; set the same PYTHONHASHSEED on every engine${expected.seed === undefined ? '' : ` (PYTHONHASHSEED=${shellWord(expected.seed)}, as the index expects)`}`,
          key,
        ),
      );
      continue;
    }
    detectedByEngine.set(key, detected);
    const mismatch = mismatchMessage(key, detected, expected);
    if (mismatch !== undefined) {
      findings.push(finding('fail', 'block-hashes', mismatch, key));
    } else {
      findings.push(
        finding(
          'ok',
          'block-hashes',
          `${key} hashes blocks with ${describe(detected)}${somethingExpected ? ', as the index expects' : ''}`,
          key,
        ),
      );
    }
  }
  const distinct = new Set([...detectedByEngine.values()].map(describe));
  if (distinct.size > 1) {
    findings.push(
      finding(
        'warn',
        'block-hashes',
        `the engines hash blocks differently (${[...detectedByEngine].map(([key, hashing]) => `${key}: ${describe(hashing)}`).join('; ')}): the same prefix gets different hashes on each, which breaks shared KV stores (LMCache, P/D transfer) and hash verification in the index`,
      ),
    );
  }
  return findings;
}
