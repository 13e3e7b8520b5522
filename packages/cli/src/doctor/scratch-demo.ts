import { startKvIndexServer } from '@llmd/kv-index';
import { startSimServer } from '@llmd/sim';
import { formatDoctorReport } from './format-doctor-report.js';
import { runDoctor } from './run-doctor.js';

const sim = await startSimServer({ port: 0, model: 'm', blockSize: 4, prefixCachingHashAlgo: 'sha256_cbor', hashSeed: '0', timeScale: 100,
  kvEventsConfig: { enable_kv_cache_events: true, endpoint: 'tcp://127.0.0.1:*', replay_endpoint: 'tcp://127.0.0.1:*' } });
const key = new URL(sim.url).host;
const p = sim.ranks[0]!.kvEvents!;
const index = await startKvIndexServer({ httpPort: 0, blockSize: 8, engineHashAlgo: 'sha256_cbor', engineHashSeed: '42', podEventEndpoints: [`${key}=${p.endpoint}|${p.replayEndpoint}`] });
await fetch(`${sim.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', prompt: 'a b c d e f g h i j k l m n o p q r s t u v w x y z', max_tokens: 2 }) }).then((r) => r.text());
await new Promise((r) => setTimeout(r, 500));
const report = await runDoctor({ endpoints: [key, '127.0.0.1:1'], kvEvents: [`${key}=${p.endpoint}|${p.replayEndpoint}`], indexUrl: index.service.httpUrl, eppMetricsUrl: sim.url + '/metrics', blockSize: 8, hashAlgo: 'sha256_cbor', hashSeed: '42', listenMilliseconds: 500 });
process.stdout.write(formatDoctorReport(report));
await index.close();
await sim.close(0);
