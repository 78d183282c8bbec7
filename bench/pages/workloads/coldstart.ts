/**
 * 7. Cold start, one phase per page load (the runner drives it: a fresh browser context = empty
 * Cache API and HTTP cache → phase `cold`; then a page reload → phase `warm`; repeated):
 * - backend ready: `createClient()` → `ready()` (worker start, WASM fetch + compile, self-test);
 * - `load()` of the Fashion CNN and of tiny-gpt: network + verification on a cold cache, the
 *   Cache API on a warm one;
 * - first classify vs steady state (median of the next calls).
 * Returns raw samples; the runner merges the repetitions into medians and p95s.
 */
import { createClient } from '../../../src/index.js';
import { summarize } from '../stats.js';
import type { Workload } from '../types.js';

const pixels = (n: number, seed: number): { data: Uint8ClampedArray; width: number; height: number; channels: 1 } => {
  const data = new Uint8ClampedArray(n * n);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + seed * 101) % 256;
  return { data, width: n, height: n, channels: 1 };
};

export const coldstart: Workload = async (p) => {
  const phase = String(p.extra?.['phase'] ?? 'cold');
  const t0 = performance.now();
  const client = createClient({ registry: p.registry, wasmThreads: p.threads });
  const backend = await client.ready();
  const tReady = performance.now() - t0;
  const t1 = performance.now();
  const fashion = await client.load('fashion-mnist-cnn', { task: 'image-classification' });
  const tLoadFashion = performance.now() - t1;
  const t2 = performance.now();
  await fashion.classify(pixels(28, 0));
  const tFirst = performance.now() - t2;
  const steady: number[] = [];
  for (let i = 1; i <= (p.smoke ? 5 : 50); i++) {
    const t = performance.now();
    await fashion.classify(pixels(28, i));
    steady.push(performance.now() - t);
  }
  const t3 = performance.now();
  const gpt = await client.load('tiny-gpt', { task: 'text-generation' });
  const tLoadGpt = performance.now() - t3;
  await client.dispose();
  void gpt;
  const s = summarize(steady);
  return {
    title: `Cold start (${phase})`,
    rows: [
      { id: `coldstart.${phase}.ready`, label: 'backend ready (createClient → ready)', unit: 'ms', median: tReady },
      { id: `coldstart.${phase}.load.fashion`, label: 'load() Fashion CNN', unit: 'ms', median: tLoadFashion },
      { id: `coldstart.${phase}.load.tiny-gpt`, label: 'load() tiny-gpt', unit: 'ms', median: tLoadGpt },
      { id: `coldstart.${phase}.first-call`, label: 'first classify (Fashion CNN)', unit: 'ms', median: tFirst },
      { id: `coldstart.${phase}.steady-call`, label: 'steady-state classify (median of the next calls)', unit: 'ms', median: s.median, p95: s.p95, n: s.n },
    ],
    facts: { backend: backend.name, threadCount: backend.threadCount, reason: backend.reason },
  };
};
