import { z } from 'zod';
import { inFlightLoadAttribute, inFlightLoadDataKey } from '../../../plugin/data-keys.js';
import { definePlugin } from '../../../plugin/define-plugin.js';
import type { SchedulingEndpoint } from '../../../plugin/endpoint-state.js';

/** llm-d's utilization metric names. */
export const utilizationMetrics = [
  'active-requests',
  'running-requests',
  'waiting-queue',
  'kv-cache-utilization',
] as const;
export type UtilizationMetric = (typeof utilizationMetrics)[number];

const conditionSchema = z
  .object({
    metric: z.enum(utilizationMetrics),
    /** Endpoints whose metric is at most this value are kept. */
    maxValue: z.number().min(0),
  })
  .strict()
  .superRefine((condition, context) => {
    // kv-cache-utilization is a fraction; a value like 80 is almost surely meant as a percentage.
    if (condition.metric === 'kv-cache-utilization' && condition.maxValue > 1) {
      context.addIssue({
        code: 'custom',
        path: ['maxValue'],
        message: 'kv-cache-utilization is a fraction: maxValue must be at most 1',
      });
    }
  });

export const utilizationFilterParameters = z
  .object({
    conditions: z.array(conditionSchema).min(1),
    /** When every endpoint is dropped, return the candidates unchanged instead of none. */
    fallbackOnEmpty: z.boolean().default(false),
  })
  .strict();

function metricValue(candidate: SchedulingEndpoint, metric: UtilizationMetric): number {
  switch (metric) {
    case 'active-requests':
      // Requests this EPP has in flight; an endpoint the producer has not seen has none.
      return candidate.attributes.get(inFlightLoadAttribute)?.requests ?? 0;
    case 'running-requests':
      return candidate.metrics.runningRequestsSize;
    case 'waiting-queue':
      return candidate.metrics.waitingQueueSize;
    case 'kv-cache-utilization':
      return candidate.metrics.kvCacheUsagePercent;
  }
}

/** Drops endpoints over any configured cap (AND of all conditions). */
export const utilizationFilterPlugin = definePlugin({
  type: 'utilization-filter',
  stability: 'Alpha',
  parameters: utilizationFilterParameters,
  create: ({ conditions, fallbackOnEmpty }) => {
    const needsInFlightLoad = conditions.some((condition) => condition.metric === 'active-requests');
    return {
      consumes: { required: needsInFlightLoad ? [inFlightLoadDataKey] : [] },
      filter(_request, endpoints) {
        const kept = endpoints.filter((candidate) =>
          conditions.every((condition) => metricValue(candidate, condition.metric) <= condition.maxValue),
        );
        return kept.length === 0 && fallbackOnEmpty ? endpoints : kept;
      },
    };
  },
});
