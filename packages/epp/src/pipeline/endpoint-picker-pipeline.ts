import { randomUUID } from 'node:crypto';
import {
  deprecatedHeaderAliases,
  type EndpointKey,
  headerNames,
  type Logger,
  noopLogger,
  routingHeaderNames,
} from '@llmd/core';
import { AttributeMap } from '../plugin/attribute-map.js';
import type { EndpointState } from '../plugin/endpoint-state.js';
import type { RequestTerminationCause, SchedulingResult } from '../plugin/plugin-interfaces.js';
import type { SchedulingRequest } from '../plugin/scheduling-request.js';
import type { Scheduler } from '../scheduling/scheduler.js';
import { createModelNameRestorer } from './model-name-restorer.js';
import { parseInferenceRequest } from './parse-inference-request.js';
import type { PipelineObserver, RequestLabels } from './pipeline-observer.js';
import type {
  DropReason,
  IncomingRequest,
  RejectOutcome,
  RequestOutcome,
  RequestPipeline,
  ResponseExchange,
  RouteOutcome,
} from './request-outcome.js';
import { UsageTracker } from './usage-tracker.js';

/** The admission side of flow control, as the pipeline needs it. */
export interface FlowAdmission {
  enqueue(request: {
    readonly requestId: string;
    readonly priority: number;
    readonly fairnessId: string;
    readonly byteSize: number;
    readonly receivedAt: number;
    readonly headers: Readonly<Record<string, string>>;
    readonly signal: AbortSignal;
  }): Promise<
    | { readonly dispatched: true }
    | {
        readonly dispatched: false;
        readonly status: number;
        readonly dropReason: DropReason;
        readonly message: string;
      }
  >;
  /** Capacity may have freed up (a request finished). */
  notify(): void;
}

export interface EndpointPickerPipelineOptions {
  readonly scheduler: Scheduler;
  /** The pool's current endpoints (the datastore's snapshot). */
  readonly endpoints: () => ReadonlyArray<EndpointState>;
  /** Flow control, when the `flowControl` feature gate is on; otherwise legacy shedding applies. */
  readonly flowControl?: FlowAdmission;
  /** InferenceObjective name → priority (`x-llm-d-inference-objective` names the objective). */
  readonly objectives?: ReadonlyMap<string, number>;
  /** Ignore Envoy's subset hint (llm-d's `--disable-endpoint-subset-filter`). */
  readonly disableEndpointSubsetFilter?: boolean;
  readonly observer?: PipelineObserver;
  readonly logger?: Logger;
  readonly now?: () => number;
  readonly random?: () => number;
}

const defaultFairnessId = 'default-flow';
const encoder = new TextEncoder();

function reject(requestId: string, status: number, message: string, dropReason?: DropReason): RejectOutcome {
  return { kind: 'reject', requestId, status, message, dropReason };
}

/**
 * The request pipeline both servers share (llm-d's director): header hygiene, body parsing,
 * model rewrite, objective → priority, admission (flow control or legacy shedding), candidates
 * (subset hint), scheduling, pre-request hooks, and the response phase. It knows nothing of HTTP
 * or gRPC: it returns a transport-neutral outcome.
 */
export class EndpointPickerPipeline implements RequestPipeline {
  readonly #options: EndpointPickerPipelineOptions;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #random: () => number;

  constructor(options: EndpointPickerPipelineOptions) {
    this.#options = options;
    this.#logger = options.logger ?? noopLogger;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  async handle(incoming: IncomingRequest): Promise<RequestOutcome> {
    const headers: Record<string, string> = {};
    const headersToRemove: string[] = [];
    const aliased: Array<[string, string]> = [];
    for (const [rawName, value] of Object.entries(incoming.headers)) {
      const name = rawName.toLowerCase();
      if (routingHeaderNames.includes(name)) {
        // Only the EPP sets routing headers; a client-sent one must never reach a proxy or sidecar.
        headersToRemove.push(name);
        continue;
      }
      headers[name] = value;
      const current = deprecatedHeaderAliases[name];
      if (current) aliased.push([current, value]);
    }
    // Deprecated `x-gateway-*` names still work, but the current name wins when both are sent.
    for (const [current, value] of aliased) headers[current] ??= value;
    const requestId = headers[headerNames.requestId] || randomUUID();
    const observer = this.#options.observer;

    const parsed = parseInferenceRequest(incoming.path, incoming.body);
    if (!parsed.ok) {
      observer?.requestRejected(undefined, 400, undefined);
      return reject(requestId, 400, parsed.message);
    }

    const candidates = this.#candidates(incoming.subsetHint);
    // With flow control, an empty pool is not an answer yet: requests queue until pods become ready
    // (scale from zero) or `noEndpointRequestTTL` expires. An empty subset hint is final either way.
    const waitForEndpoints = this.#options.flowControl !== undefined && incoming.subsetHint === undefined;
    if (
      candidates.length === 0 &&
      !(waitForEndpoints && parsed.body !== undefined && parsed.body.kind !== 'other')
    ) {
      observer?.requestRejected(undefined, 503, 'rejected-no-endpoints');
      const message = incoming.subsetHint
        ? 'no endpoint of the pool matches the subset hint'
        : 'no ready endpoints in the pool';
      return reject(requestId, 503, message, 'rejected-no-endpoints');
    }

    const body = parsed.body;
    if (body === undefined || body.kind === 'other') {
      // Body-less and non-inference requests are not scheduled: any endpoint can answer them.
      const target = candidates[Math.floor(this.#random() * candidates.length)] as EndpointState;
      return this.#passThrough(requestId, incoming, target.endpoint.key, headersToRemove, body?.model ?? '');
    }

    const model = body.model;
    const rewrite = headers[headerNames.modelNameRewrite];
    const targetModel = rewrite && rewrite.length > 0 ? rewrite : model;
    const objectiveName = headers[headerNames.inferenceObjective];
    const priority = objectiveName ? (this.#options.objectives?.get(objectiveName) ?? 0) : 0;
    const fairnessId = headers[headerNames.inferenceFairnessId] || defaultFairnessId;
    const labels: RequestLabels = { modelName: model, targetModelName: targetModel, fairnessId, priority };
    const bodyBytes = incoming.body?.byteLength ?? 0;

    let requestBody = incoming.body;
    let schedulingBody = body;
    if (targetModel !== model) {
      const json = { ...body.json, model: targetModel };
      requestBody = encoder.encode(JSON.stringify(json));
      schedulingBody = { ...body, json, model: targetModel };
    }

    const request: SchedulingRequest = {
      requestId,
      path: incoming.path,
      headers,
      body: schedulingBody,
      model,
      targetModel,
      priority,
      fairnessId,
      bodyBytes,
      receivedAt: this.#now(),
      attributes: new AttributeMap(),
      upstreamHeaders: new Map(),
      signal: incoming.signal,
    };

    const { scheduler, flowControl } = this.#options;
    if (flowControl) {
      const decision = await flowControl.enqueue({
        requestId,
        priority,
        fairnessId,
        byteSize: bodyBytes,
        receivedAt: request.receivedAt,
        headers,
        signal: incoming.signal,
      });
      if (!decision.dispatched) {
        observer?.requestRejected(labels, decision.status, decision.dropReason);
        return reject(requestId, decision.status, decision.message, decision.dropReason);
      }
    } else if (priority < 0 && scheduler.saturation(candidates) >= 1) {
      observer?.requestRejected(labels, 429, 'rejected-saturated');
      return reject(
        requestId,
        429,
        'sheddable request rejected: the pool is saturated',
        'rejected-saturated',
      );
    }

    // Flow control may have waited: schedule against the pool as it is now.
    const current = flowControl ? this.#candidates(incoming.subsetHint) : candidates;
    if (current.length === 0) {
      flowControl?.notify();
      observer?.requestRejected(labels, 503, 'rejected-no-endpoints');
      return reject(requestId, 503, 'no ready endpoints in the pool', 'rejected-no-endpoints');
    }
    const started = performance.now();
    const outcome = await scheduler.schedule(request, current);
    observer?.schedulingFinished((performance.now() - started) / 1000, outcome.ok ? 'success' : 'failure');
    if (!outcome.ok) {
      flowControl?.notify();
      observer?.requestRejected(labels, outcome.status, outcome.dropReason);
      return reject(requestId, outcome.status, outcome.message, outcome.dropReason);
    }
    const result = outcome.result;
    await scheduler.preRequest(request, result);
    this.#reportDisaggregation(request, result);
    observer?.requestRouted(labels, bodyBytes);

    const targets = [result.primary, ...result.fallbacks].map((candidate) => candidate.endpoint.key);
    const primaryResult = result.profileResults.get(result.primaryProfileName);
    const endpointScores: Record<string, number> = {};
    if (primaryResult) for (const [key, total] of primaryResult.totals) endpointScores[key] = total;

    return {
      kind: 'route',
      requestId,
      targets,
      headersToSet: Object.fromEntries(request.upstreamHeaders),
      headersToRemove,
      body: requestBody,
      endpointScores,
      exchange: this.#exchange(request, labels, result),
    };
  }

  #candidates(subsetHint: ReadonlyArray<string> | undefined): ReadonlyArray<EndpointState> {
    const all = this.#options.endpoints();
    if (subsetHint === undefined || this.#options.disableEndpointSubsetFilter) return all;
    // The protocol matches the subset hint by IP only; ports are ignored.
    const addresses = new Set(subsetHint.map((entry) => entry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')));
    return all.filter((state) => addresses.has(state.endpoint.address));
  }

  #passThrough(
    requestId: string,
    incoming: IncomingRequest,
    target: EndpointKey,
    headersToRemove: ReadonlyArray<string>,
    model: string,
  ): RouteOutcome {
    let completed = false;
    return {
      kind: 'route',
      requestId,
      targets: [target],
      headersToSet: {},
      headersToRemove,
      body: incoming.body,
      endpointScores: {},
      exchange: {
        responseHeaders: () => ({}),
        responseChunk: (chunk) => chunk,
        complete: () => {
          if (completed) return;
          completed = true;
          this.#logger.debug({ requestId, target, model }, 'pass-through request finished');
        },
      },
    };
  }

  #reportDisaggregation(request: SchedulingRequest, result: SchedulingResult): void {
    const observer = this.#options.observer;
    // Only multi-profile (P/D) configurations make a disaggregation decision; decode-only counts too.
    if (!observer?.disaggregationDecision || this.#options.scheduler.plugins.profiles.size < 2) return;
    const ran = (name: string) => (result.profileResults.get(name)?.targets.length ?? 0) > 0;
    const decision = ran('encode')
      ? ran('prefill')
        ? 'encode-prefill-decode'
        : 'encode-decode'
      : ran('prefill')
        ? 'prefill-decode'
        : 'decode-only';
    observer.disaggregationDecision(request.targetModel, decision);
  }

  #exchange(request: SchedulingRequest, labels: RequestLabels, result: SchedulingResult): ResponseExchange {
    const { scheduler, flowControl, observer } = this.#options;
    const restoreModelName = createModelNameRestorer(request.model, request.targetModel);
    const usage = new UsageTracker();
    const started = this.#now();
    let servedEndpoint = result.primary.endpoint;
    let status: number | undefined;
    let firstChunkAt: number | undefined;
    let responseBytes = 0;
    let completed = false;
    return {
      responseHeaders: ({ status: responseStatus, headers, servedEndpoint: served }) => {
        status = responseStatus;
        if (served) {
          const match = this.#options.endpoints().find((state) => state.endpoint.key === served);
          if (match) servedEndpoint = match.endpoint;
        }
        usage.setStreaming((headers['content-type'] ?? '').includes('text/event-stream'));
        const setHeaders = new Map<string, string>();
        scheduler.responseHeaders(request, { status: responseStatus, headers, servedEndpoint, setHeaders });
        return Object.fromEntries(setHeaders);
      },
      responseChunk: (chunk, endOfStream) => {
        const first = firstChunkAt === undefined && chunk.byteLength > 0;
        if (first) firstChunkAt = this.#now();
        responseBytes += chunk.byteLength;
        if (chunk.byteLength > 0) {
          usage.push(chunk);
          scheduler.responseChunk(request, { data: chunk, first, servedEndpoint });
        }
        void endOfStream;
        return restoreModelName(chunk);
      },
      complete: (cause: RequestTerminationCause) => {
        if (completed) return;
        completed = true;
        const reportedUsage = usage.finish();
        scheduler.requestComplete(request, {
          cause,
          servedEndpoint,
          status,
          ...(reportedUsage ? { usage: reportedUsage } : {}),
        });
        flowControl?.notify();
        observer?.requestFinished(labels, {
          cause,
          status,
          durationSeconds: (this.#now() - started) / 1000,
          firstChunkSeconds: firstChunkAt === undefined ? undefined : (firstChunkAt - started) / 1000,
          responseBytes,
          usage: reportedUsage,
        });
      },
    };
  }
}
