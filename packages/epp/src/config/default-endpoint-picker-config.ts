import type { EndpointPickerConfigInput } from './endpoint-picker-config-schema.js';

/** llm-d's scheduling when no config is given: queue w2, KV-cache utilisation w2, prefix cache w3. */
export const defaultEndpointPickerConfig: EndpointPickerConfigInput = {
  apiVersion: 'llm-d.ai/v1alpha1',
  kind: 'EndpointPickerConfig',
  plugins: [
    { type: 'queue-scorer' },
    { type: 'kv-cache-utilization-scorer' },
    { type: 'prefix-cache-scorer' },
  ],
  schedulingProfiles: [
    {
      name: 'default',
      plugins: [
        { pluginRef: 'queue-scorer', weight: 2 },
        { pluginRef: 'kv-cache-utilization-scorer', weight: 2 },
        { pluginRef: 'prefix-cache-scorer', weight: 3 },
      ],
    },
  ],
};
