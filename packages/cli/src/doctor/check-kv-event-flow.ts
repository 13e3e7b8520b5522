import type { KvEventObservation } from './collect-kv-events.js';
import { type DoctorFinding, finding } from './doctor-finding.js';

/**
 * Check 3a: events arrive on each engine's socket, and are readable. `promptTokensDuringWindow` is
 * how much the engine served while the doctor listened (undefined when unknown): silence during
 * traffic is a fault, silence while idle proves nothing.
 */
export function checkKvEventFlow(
  observation: KvEventObservation,
  promptTokensDuringWindow: number | undefined,
  listenMilliseconds: number,
): DoctorFinding[] {
  const { target } = observation;
  const key = target.endpointKey;
  const seconds = listenMilliseconds / 1000;
  if (observation.unreachable !== undefined) {
    return [
      finding(
        'fail',
        'kv-events',
        `${key}: nothing accepts connections at ${target.eventsEndpoint} (${observation.unreachable}), so no index can receive its KV events; check the endpoint port in the engine's --kv-events-config (vLLM's default is 5557, llm-d's guides use 5556)`,
        key,
      ),
    ];
  }
  const findings: DoctorFinding[] = [];
  if (observation.replayUnreachable !== undefined) {
    findings.push(
      finding(
        'warn',
        'kv-events',
        `${key}: the replay socket ${target.replayEndpoint} is unreachable (${observation.replayUnreachable}): events lost in a gap or while the index restarts cannot be recovered`,
        key,
      ),
    );
  }
  if (observation.malformed > 0) {
    findings.push(
      finding(
        'fail',
        'kv-events',
        `${key}: ${observation.malformed} message(s) from ${target.eventsEndpoint} were not readable KV-event batches; is that the engine's KV-event socket?`,
        key,
      ),
    );
  }
  if (observation.batches > 0) {
    findings.push(
      finding(
        'ok',
        'kv-events',
        `${key}: received ${observation.batches} ${observation.batches === 1 ? 'batch' : 'batches'} (${observation.events} ${observation.events === 1 ? 'event' : 'events'}) from ${target.eventsEndpoint}`,
        key,
      ),
    );
  } else if (promptTokensDuringWindow !== undefined && promptTokensDuringWindow > 0) {
    findings.push(
      finding(
        'fail',
        'kv-events',
        `${key} took in ${promptTokensDuringWindow} prompt tokens in ${seconds} s but published no KV events on ${target.eventsEndpoint}: check that enable_kv_cache_events is true in its --kv-events-config, that prefix caching is on, and that this is its events socket`,
        key,
      ),
    );
  } else if (observation.malformed === 0) {
    findings.push(
      finding(
        'warn',
        'kv-events',
        `${key}: no KV events in ${seconds} s, and it served no traffic meanwhile, so nothing could be checked; send a request during the check, listen longer, or give its replay socket`,
        key,
      ),
    );
  }
  return findings;
}
