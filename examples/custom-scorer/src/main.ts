import { readFile } from 'node:fs/promises';
import { createEndpoint } from '@llmd/core';
import {
  builtinPlugins,
  chatCompletionBody,
  createPluginRegistry,
  createSchedulingRequest,
  emptyEndpointMetrics,
  loadEndpointPickerConfig,
  Scheduler,
} from '@llmd/epp';
import { zoneAffinityScorerPlugin } from './zone-affinity-scorer.js';

// 1. Register the plugin type next to the built-ins (an instance registry: nothing global).
const registry = createPluginRegistry([...builtinPlugins, zoneAffinityScorerPlugin]);

// 2. Load the YAML: the plugin is referenced by its type name like any built-in.
const text = await readFile(new URL('./endpoint-picker-config.yaml', import.meta.url), 'utf8');
const loaded = await loadEndpointPickerConfig({ text, registry });
const scheduler = new Scheduler(loaded.plugins);

// 3. Schedule a request over three endpoints in two zones (metrics as a scrape would report them).
const pool = [
  { address: '10.0.0.1', zone: 'us-east-1a', queue: 0 },
  { address: '10.0.0.2', zone: 'us-east-1b', queue: 0 },
  { address: '10.0.0.3', zone: 'us-east-1b', queue: 4 },
].map(({ address, zone, queue }) => ({
  endpoint: createEndpoint({ address, port: 8000, labels: { 'topology.kubernetes.io/zone': zone } }),
  metrics: { ...emptyEndpointMetrics, waitingQueueSize: queue, updateTime: Date.now() },
}));
const request = createSchedulingRequest({
  headers: { 'x-client-zone': 'us-east-1b' },
  body: chatCompletionBody('Qwen/Qwen3-0.6B', [{ role: 'user', content: 'Hello!' }]),
});
const outcome = await scheduler.schedule(request, pool);
if (!outcome.ok) throw new Error(outcome.message);
console.log(`picked ${outcome.result.primary.endpoint.key}`);
for (const [scorer, scores] of outcome.result.profileResults.get('default')?.scoresByScorer ?? []) {
  console.log(`  ${scorer}: ${JSON.stringify(Object.fromEntries(scores))}`);
}
