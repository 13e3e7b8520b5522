/**
 * HTTP header and Envoy metadata names, lower-cased as the EPP stores them. Names are llm-d's and
 * the Gateway API Inference Extension's; several `x-gateway-*` / `x-slo-*` names are deprecated
 * aliases that must still be read.
 */
export const headerNames = {
  requestId: 'x-request-id',
  /** EPP → proxy: chosen endpoint(s), `ip:port[,ip:port…]`, primary first. */
  destinationEndpoint: 'x-gateway-destination-endpoint',
  /** EPP → proxy, `envoy.lb` dynamic metadata only (opt-in): map `ip:port` → score. */
  destinationEndpointScores: 'x-gateway-destination-endpoint-scores',
  /** Proxy → EPP in `filter_metadata["envoy.lb.subset_hint"]`: candidate endpoints. */
  destinationEndpointSubset: 'x-gateway-destination-endpoint-subset',
  /** Proxy → EPP in response `filter_metadata["envoy.lb"]`: the endpoint that actually served. */
  destinationEndpointServed: 'x-gateway-destination-endpoint-served',
  /** EPP → decode sidecar (P/D): prefill endpoint `ip:port`. */
  prefillerHostPort: 'x-prefiller-host-port',
  /** EPP → sidecar (E/P/D): encode endpoints. */
  encoderHostsPorts: 'x-encoder-hosts-ports',
  /** EPP → sidecar: peer to pull a cached prefix from. */
  kvCacheSourceHostPort: 'x-kv-cache-source-host-port',
  /** EPP → sidecar: data-parallel rank routing (deprecated upstream). */
  dataParallelHostPort: 'x-data-parallel-host-port',
  inferenceObjective: 'x-llm-d-inference-objective',
  inferenceFairnessId: 'x-llm-d-inference-fairness-id',
  modelNameRewrite: 'x-llm-d-model-name-rewrite',
  sloTtftMilliseconds: 'x-llm-d-slo-ttft-ms',
  sloTpotMilliseconds: 'x-llm-d-slo-tpot-ms',
  videoFps: 'x-llm-d-video-fps',
  videoDurationSeconds: 'x-llm-d-video-duration-seconds',
  videoResolution: 'x-llm-d-video-resolution',
  /** On an immediate (rejected) response: why the request was dropped. */
  requestDroppedReason: 'x-llm-d-request-dropped-reason',
  sessionToken: 'x-session-token',
  sessionId: 'x-session-id',
  wentIntoResponseHeaders: 'x-went-into-resp-headers',
  conformanceTestServedEndpoint: 'x-conformance-test-served-endpoint',
  baseModelName: 'x-gateway-base-model-name',
} as const;

/** Deprecated header names still accepted on input, mapped to their current name. */
export const deprecatedHeaderAliases: Readonly<Record<string, string>> = {
  'x-gateway-inference-objective': headerNames.inferenceObjective,
  'x-gateway-inference-fairness-id': headerNames.inferenceFairnessId,
  'x-gateway-model-name-rewrite': headerNames.modelNameRewrite,
  'x-slo-ttft-ms': headerNames.sloTtftMilliseconds,
  'x-slo-tpot-ms': headerNames.sloTpotMilliseconds,
};

/**
 * Routing headers only the EPP may set. A gateway strips these from client requests at the edge:
 * a client that could set them could pick its own backend or make a sidecar call an arbitrary host.
 */
export const routingHeaderNames: ReadonlyArray<string> = [
  headerNames.destinationEndpoint,
  headerNames.destinationEndpointSubset,
  headerNames.destinationEndpointServed,
  headerNames.prefillerHostPort,
  headerNames.encoderHostsPorts,
  headerNames.kvCacheSourceHostPort,
  headerNames.dataParallelHostPort,
];

/** Envoy dynamic-metadata namespaces. */
export const metadataNamespaces = {
  loadBalancing: 'envoy.lb',
  subsetHint: 'envoy.lb.subset_hint',
} as const;
