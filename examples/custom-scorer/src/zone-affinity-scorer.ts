import { definePlugin } from '@llmd/epp/plugin';
import { z } from 'zod';

/**
 * A third-party scorer: prefer endpoints in the client's zone. The client (or an edge proxy) names
 * its zone in a request header; endpoints carry the standard Kubernetes zone label. Same-zone
 * endpoints score 1, others `otherZoneScore`, endpoints without the label `unlabelledScore`.
 *
 * Parameters are a strict zod schema: a misspelt field in the YAML is a startup error naming
 * `plugins[N].parameters.<field>`, and `.default()` values apply when a field is omitted.
 */
export const zoneAffinityScorerPlugin = definePlugin({
  type: 'zone-affinity-scorer',
  stability: 'Beta',
  parameters: z
    .object({
      header: z.string().min(1).default('x-client-zone'),
      label: z.string().min(1).default('topology.kubernetes.io/zone'),
      otherZoneScore: z.number().min(0).max(1).default(0.3),
      unlabelledScore: z.number().min(0).max(1).default(0.5),
    })
    .strict()
    .prefault({}),
  create: (parameters, handle) => {
    handle.logger.info({ header: parameters.header }, 'zone-affinity-scorer ready');
    return {
      category: 'Affinity',
      score(request, endpoints) {
        const clientZone = request.headers[parameters.header];
        const scores = new Map<(typeof endpoints)[number], number>();
        for (const endpoint of endpoints) {
          const zone = endpoint.endpoint.labels[parameters.label];
          if (clientZone === undefined) scores.set(endpoint, 1);
          else if (zone === undefined) scores.set(endpoint, parameters.unlabelledScore);
          else scores.set(endpoint, zone === clientZone ? 1 : parameters.otherZoneScore);
        }
        return scores;
      },
    };
  },
});
