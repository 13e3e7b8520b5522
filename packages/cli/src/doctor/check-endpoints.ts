import { z } from 'zod';
import { type DoctorFinding, finding } from './doctor-finding.js';
import { type HttpGetResult, httpGet } from './http-get.js';

export interface EndpointProbe {
  readonly endpointKey: string;
  readonly health: HttpGetResult;
  readonly models: HttpGetResult;
  /** The model ids `/v1/models` lists (empty when it did not answer with a list). */
  readonly modelIds: ReadonlyArray<string>;
}

const modelListSchema = z.object({ data: z.array(z.object({ id: z.string() })) });

function readModelIds(result: HttpGetResult): string[] {
  if (result.kind !== 'response' || result.status !== 200) return [];
  try {
    const parsed = modelListSchema.safeParse(JSON.parse(result.body));
    return parsed.success ? parsed.data.data.map((model) => model.id) : [];
  } catch {
    return [];
  }
}

/** GET /health and /v1/models of one model server, at once. */
export async function probeEndpoint(
  endpointKey: string,
  timeoutMilliseconds: number,
): Promise<EndpointProbe> {
  const base = `http://${endpointKey}`;
  const [health, models] = await Promise.all([
    httpGet(`${base}/health`, { timeoutMilliseconds, maximumBytes: 64 * 1024 }),
    httpGet(`${base}/v1/models`, { timeoutMilliseconds, maximumBytes: 1024 * 1024 }),
  ]);
  return { endpointKey, health, models, modelIds: readModelIds(models) };
}

/** The endpoint answered HTTP at all: its other checks are worth running. */
export function isReachable(probe: EndpointProbe): boolean {
  return probe.health.kind === 'response' || probe.models.kind === 'response';
}

function quoteList(values: ReadonlyArray<string>): string {
  return values.map((value) => `"${value}"`).join(', ');
}

/** Check 1: every endpoint answers /health with 2xx and lists its models on /v1/models. */
export function checkEndpoints(probes: ReadonlyArray<EndpointProbe>): DoctorFinding[] {
  return probes.map((probe) => {
    const key = probe.endpointKey;
    if (!isReachable(probe)) {
      const reason = probe.health.kind === 'error' ? probe.health.reason : 'no answer';
      return finding('fail', 'endpoints', `${key} is unreachable: ${reason}`, key);
    }
    const { health, models } = probe;
    if (health.kind === 'response' && (health.status < 200 || health.status > 299)) {
      return finding(
        'fail',
        'endpoints',
        `${key} answers but is not healthy: GET /health returned HTTP ${health.status}, so the EPP will not route to it`,
        key,
      );
    }
    if (models.kind !== 'response' || models.status !== 200 || probe.modelIds.length === 0) {
      const what =
        models.kind === 'error'
          ? models.reason
          : models.status === 200
            ? 'no model list'
            : `HTTP ${models.status}`;
      return finding(
        'fail',
        'endpoints',
        `${key} answers /health but GET /v1/models gave ${what}: this is not an OpenAI-compatible model server (wrong port?)`,
        key,
      );
    }
    return finding('ok', 'endpoints', `${key} is up and serves ${quoteList(probe.modelIds)}`, key);
  });
}
