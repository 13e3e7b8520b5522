import { type DoctorFinding, finding } from './doctor-finding.js';
import { type MetricsScrape, sumOfMetric } from './scrape-metrics.js';

/** The EPP's gauge of ready endpoints, then the legacy name GIE still dual-emits (data-layer.md §6). */
const readyEndpointNames = ['llm_d_epp_ready_endpoints', 'inference_pool_ready_pods'] as const;

/**
 * Check 5: the EPP sees ready endpoints, as many as were checked here. `expectedEndpoints` is the
 * number of endpoints given to the doctor (0: not compared).
 */
export function checkEppMetrics(scrape: MetricsScrape, expectedEndpoints: number): DoctorFinding[] {
  const url = scrape.url;
  const { result, samples } = scrape;
  if (result.kind === 'error') {
    return [finding('fail', 'epp', `the EPP's metrics at ${url} are unreachable: ${result.reason}`, url)];
  }
  if (samples === undefined) {
    return [
      finding(
        'fail',
        'epp',
        `GET ${url} returned HTTP ${result.status}: the EPP serves /metrics on --metrics-port (default 9090)`,
        url,
      ),
    ];
  }
  let ready: number | undefined;
  let name: string | undefined;
  for (const candidate of readyEndpointNames) {
    ready = sumOfMetric(samples, candidate);
    name = candidate;
    if (ready !== undefined) break;
  }
  if (ready === undefined) {
    return [
      finding(
        'fail',
        'epp',
        `${url} has no ${readyEndpointNames[0]}: is this the EPP's metrics port (--metrics-port, default 9090)?`,
        url,
      ),
    ];
  }
  if (ready === 0) {
    return [
      finding(
        'fail',
        'epp',
        `the EPP sees no ready endpoints (${name} is 0), so it can route nothing: check its discovery (InferencePool selector, pod labels and readiness, or --endpoints)`,
        url,
      ),
    ];
  }
  if (expectedEndpoints > 0 && ready !== expectedEndpoints) {
    return [
      finding(
        'warn',
        'epp',
        `the EPP sees ${ready} ready endpoint(s), but ${expectedEndpoints} were checked here: it ${ready < expectedEndpoints ? 'misses some (not ready, not matched by its selector, or another target port)' : 'also routes to endpoints not checked here'}`,
        url,
      ),
    ];
  }
  return [finding('ok', 'epp', `the EPP sees ${ready} ready endpoint(s)`, url)];
}
