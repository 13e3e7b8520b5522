import { parseKvEventTopic } from '@llmd/kv-index';
import type { KvEventObservation } from './collect-kv-events.js';
import { type DoctorFinding, finding } from './doctor-finding.js';

/**
 * Check 3b: each topic follows llm-d's `kv@<ip:port>@<model>` (kv-events.md §4.3), names the
 * endpoint the engine serves on, and a model it serves. `servedModels` comes from `/v1/models`
 * (empty when unknown).
 */
export function checkKvEventTopics(
  observation: KvEventObservation,
  servedModels: ReadonlyArray<string>,
): DoctorFinding[] {
  const key = observation.target.endpointKey;
  const suggestion = `set "topic": "kv@${key}@${servedModels[0] ?? '<model>'}" in its --kv-events-config`;
  const findings: DoctorFinding[] = [];
  for (const topic of observation.topics.keys()) {
    const findingsBefore = findings.length;
    if (topic === '') {
      findings.push(
        finding(
          'fail',
          'kv-event-topics',
          `${key} publishes with an empty topic (vLLM's default): the index subscribes to "kv@" and drops every batch; ${suggestion}`,
          key,
        ),
      );
      continue;
    }
    if (!topic.startsWith('kv@')) {
      findings.push(
        finding(
          'fail',
          'kv-event-topics',
          `${key} publishes under topic "${topic}", which the index drops (it subscribes to "kv@"): ${suggestion}`,
          key,
        ),
      );
      continue;
    }
    const parsed = parseKvEventTopic(topic);
    if (parsed === null) {
      findings.push(
        finding(
          'fail',
          'kv-event-topics',
          `${key}: topic "${topic}" is not kv@<ip:port>@<model>, so the index cannot tell which endpoint its blocks belong to; ${suggestion}`,
          key,
        ),
      );
      continue;
    }
    if (parsed.port === undefined) {
      findings.push(
        finding(
          'warn',
          'kv-event-topics',
          `${key}: topic "${topic}" has no port (the older kv@<ip>@<model> form): a port-keyed index files these blocks under "${parsed.host}" and scores ${key} with 0; ${suggestion}`,
          key,
        ),
      );
    } else if (parsed.endpointKey !== key) {
      findings.push(
        finding(
          'fail',
          'kv-event-topics',
          `${key}: topic "${topic}" names ${parsed.endpointKey}, not ${key}: an index fed by topic files these blocks under ${parsed.endpointKey}, and the EPP, which knows the endpoint as ${key}, finds none; ${suggestion}`,
          key,
        ),
      );
    }
    if (servedModels.length > 0 && !servedModels.includes(parsed.modelName)) {
      findings.push(
        finding(
          'warn',
          'kv-event-topics',
          `${key}: the topic's model "${parsed.modelName}" is not one it serves (${servedModels.map((model) => `"${model}"`).join(', ')}): lookups for its models find nothing from this engine`,
          key,
        ),
      );
    }
    if (findings.length === findingsBefore) {
      findings.push(finding('ok', 'kv-event-topics', `${key} publishes under "${topic}"`, key));
    }
  }
  return findings;
}
