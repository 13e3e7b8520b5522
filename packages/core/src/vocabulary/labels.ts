/** Kubernetes label and annotation names llm-d puts on model-server pods. */
export const labelNames = {
  role: 'llm-d.ai/role',
  guide: 'llm-d.ai/guide',
  model: 'llm-d.ai/model',
  engineType: 'llm-d.ai/engine-type',
  /** Legacy spelling of {@link labelNames.engineType}. */
  legacyEngineType: 'inference.networking.k8s.io/engine-type',
  inferenceServing: 'llm-d.ai/inference-serving',
  contextLengthRange: 'llm-d.ai/context-length-range',
  acceleratorVariant: 'llm-d.ai/accelerator-variant',
  acceleratorVendor: 'llm-d.ai/accelerator-vendor',
  /** Pod annotation restricting the active target ports. */
  activePorts: 'llm-d.ai/active-ports',
  legacyActivePorts: 'inference.networking.k8s.io/active-ports',
} as const;

/** Values of the `llm-d.ai/role` label. `both` is deprecated upstream (read as `prefill-decode`). */
export const endpointRoles = [
  'prefill',
  'decode',
  'prefill-decode',
  'encode',
  'encode-prefill',
  'encode-prefill-decode',
  'both',
] as const;
export type EndpointRole = (typeof endpointRoles)[number];

export const engineTypes = ['vllm', 'sglang', 'trtllm'] as const;
export type EngineType = (typeof engineTypes)[number];
