import { ApproxPrefixIndex } from '../src/plugins/producer/approx-prefix-cache-producer/approx-prefix-index.js';
const index = new ApproxPrefixIndex();
const shared = Array.from({ length: 20 }, () => { const h = new Uint32Array(586 * 2); for (let i = 0; i < h.length; i++) h[i] = (Math.random() * 2 ** 32) >>> 0; return h; });
function request(n: number): Uint32Array {
  const h = new Uint32Array(782 * 2);
  h.set(shared[n % 20] as Uint32Array);
  for (let i = 586 * 2; i < h.length; i++) h[i] = (Math.random() * 2 ** 32) >>> 0;
  return h;
}
const endpoints = Array.from({ length: 10 }, (_, i) => `10.0.0.${i}:8000`);
for (let round = 0; round < 6; round++) {
  const batch = Array.from({ length: 300 }, (_, i) => request(round * 300 + i));
  const t = performance.now();
  batch.forEach((h, i) => index.add(h, endpoints[i % 10] as string, 8192));
  console.log('round', round, 'per add ms', ((performance.now() - t) / batch.length).toFixed(3), 'size', index.size);
}
