import { type Logger, noopLogger, parseWithSchema } from '@llmd/core';
import { EngineMetricMappings } from '@llmd/epp';
import { checkBlockHashes } from './check-block-hashes.js';
import { checkBlockSize } from './check-block-size.js';
import { checkEndpoints, type EndpointProbe, isReachable, probeEndpoint } from './check-endpoints.js';
import { checkEppMetrics } from './check-epp-metrics.js';
import { checkIndex, type EngineTraffic, fetchIndexState } from './check-index.js';
import { checkKvEventFlow } from './check-kv-event-flow.js';
import { checkKvEventTopics } from './check-kv-event-topics.js';
import { checkMetricNames } from './check-metric-names.js';
import {
  type KvEventCollection,
  type KvEventObservation,
  startKvEventCollection,
} from './collect-kv-events.js';
import { createDoctorReport, type DoctorFinding, type DoctorReport } from './doctor-finding.js';
import { type DoctorOptionsInput, doctorOptionsSchema } from './doctor-options.js';
import { type EngineCacheConfig, readEngineCacheConfig } from './engine-cache-config.js';
import { type EngineMetricMapping, type MetricsScrape, scrapeMetrics } from './scrape-metrics.js';
import { servedPromptTokens } from './served-prompt-tokens.js';

export interface RunDoctorContext {
  readonly logger?: Logger;
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

interface EndpointEvidence {
  readonly probe: EndpointProbe;
  readonly firstScrape: MetricsScrape | undefined;
  secondScrape: MetricsScrape | undefined;
  readonly cacheConfig: EngineCacheConfig | undefined;
}

function trafficOf(evidence: EndpointEvidence | undefined): EngineTraffic['promptTokensDuringWindow'] {
  const before = evidence?.firstScrape?.samples;
  const after = evidence?.secondScrape?.samples;
  if (before === undefined || after === undefined) return undefined;
  const first = servedPromptTokens(before);
  const second = servedPromptTokens(after);
  return first === undefined || second === undefined ? undefined : Math.max(0, second - first);
}

/**
 * Check a running llm-d / llmd setup and say what is wrong: unreachable endpoints, metric names the
 * EPP needs but cannot find, KV events that are missing, badly addressed or hashed differently
 * from what the index expects, an index that stays empty while traffic flows, an EPP that sees no
 * endpoints. Problems found are findings in the report, never exceptions: only invalid options
 * throw (`invalid_argument`).
 */
export async function runDoctor(
  input: DoctorOptionsInput,
  context: RunDoctorContext = {},
): Promise<DoctorReport> {
  const options = parseWithSchema(doctorOptionsSchema, input, 'invalid_argument', 'doctor options');
  const logger = context.logger ?? noopLogger;
  const timeout = options.requestTimeoutMilliseconds;
  const mapping = new EngineMetricMappings().get(options.engineType) as EngineMetricMapping;
  const endpointKeys = [
    ...new Set([...options.endpoints, ...options.kvEvents.map((target) => target.endpointKey)]),
  ];

  // Subscribe first, so that the listening window also covers the probes below.
  const collection: KvEventCollection | undefined =
    options.kvEvents.length > 0
      ? await startKvEventCollection(options.kvEvents, { timeoutMilliseconds: timeout, logger })
      : undefined;
  const windowStart = performance.now();
  const evidence = new Map<string, EndpointEvidence>(
    await Promise.all(
      endpointKeys.map(async (endpointKey): Promise<[string, EndpointEvidence]> => {
        const probe = await probeEndpoint(endpointKey, timeout);
        const firstScrape = isReachable(probe)
          ? await scrapeMetrics(`http://${endpointKey}/metrics`, timeout)
          : undefined;
        const cacheConfig = firstScrape?.samples
          ? readEngineCacheConfig(firstScrape.samples, mapping)
          : undefined;
        return [endpointKey, { probe, firstScrape, secondScrape: undefined, cacheConfig }];
      }),
    ),
  );

  // Traffic is measured over the window only when something needs it.
  const watchesTraffic = collection !== undefined || options.indexUrl !== undefined;
  if (watchesTraffic && endpointKeys.length > 0) {
    await sleep(Math.max(0, options.listenMilliseconds - (performance.now() - windowStart)));
    await Promise.all(
      [...evidence.values()].map(async (item) => {
        if (item.firstScrape?.samples) item.secondScrape = await scrapeMetrics(item.firstScrape.url, timeout);
      }),
    );
  }
  const observations: KvEventObservation[] = (await collection?.stop()) ?? [];
  const [indexState, eppScrape] = await Promise.all([
    options.indexUrl === undefined ? undefined : fetchIndexState(options.indexUrl, timeout),
    options.eppMetricsUrl === undefined ? undefined : scrapeMetrics(options.eppMetricsUrl, timeout),
  ]);

  const findings: DoctorFinding[] = [];
  const probes = [...evidence.values()].map((item) => item.probe);
  findings.push(...checkEndpoints(probes));
  for (const [endpointKey, item] of evidence) {
    if (item.firstScrape) findings.push(...checkMetricNames(endpointKey, item.firstScrape, mapping));
  }
  for (const observation of observations) {
    const item = evidence.get(observation.target.endpointKey);
    findings.push(...checkKvEventFlow(observation, trafficOf(item), options.listenMilliseconds));
    findings.push(...checkKvEventTopics(observation, item?.probe.modelIds ?? []));
  }
  const observed = new Map(observations.map((observation) => [observation.target.endpointKey, observation]));
  findings.push(
    ...checkBlockSize(
      endpointKeys.map((endpointKey) => {
        const observation = observed.get(endpointKey);
        return {
          endpointKey,
          fromEvents: [...(observation?.blockSizes.keys() ?? [])].sort((left, right) => left - right),
          fromMetrics: evidence.get(endpointKey)?.cacheConfig?.blockSize,
          irregularEvents: observation?.irregularEvents ?? 0,
        };
      }),
      options.blockSize,
    ),
  );
  findings.push(
    ...checkBlockHashes(
      observations.map((observation) => ({
        endpointKey: observation.target.endpointKey,
        rootSamples: observation.rootSamples,
        storedEvents: observation.storedEvents,
        reportedAlgorithm: evidence.get(observation.target.endpointKey)?.cacheConfig?.hashAlgorithm,
      })),
      { algorithm: options.hashAlgo, seed: options.hashSeed },
    ),
  );
  if (indexState) {
    const reachable = endpointKeys.filter((endpointKey) => {
      const item = evidence.get(endpointKey);
      return item !== undefined && isReachable(item.probe);
    });
    findings.push(
      ...checkIndex(
        indexState,
        reachable.map((endpointKey) => {
          const item = evidence.get(endpointKey);
          const latest = item?.secondScrape?.samples ?? item?.firstScrape?.samples;
          return {
            endpointKey,
            servedPromptTokens: latest === undefined ? undefined : servedPromptTokens(latest),
            promptTokensDuringWindow: trafficOf(item),
          };
        }),
      ),
    );
  }
  if (eppScrape) findings.push(...checkEppMetrics(eppScrape, endpointKeys.length));
  return createDoctorReport(findings);
}
