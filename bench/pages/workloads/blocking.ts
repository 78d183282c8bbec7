/**
 * 4. Main-thread blocking during 100 classifications on the MobileNetV2 fixture: webinfer (the
 * model runs in its worker) vs plain tfjs on the main thread. Two probes on the main thread:
 * PerformanceObserver `longtask` entries (tasks ≥ 50 ms; total blocking time = Σ(duration − 50))
 * and a setTimeout heartbeat whose largest gap bounds the longest task, also below 50 ms.
 */
import { MOBILENET, testPixels } from '../models.js';
import { tfjsMainRunner, webinferRunner, type ImageRunner } from '../runners/image-runners.js';
import type { Row, Workload } from '../types.js';

async function probe(runner: ImageRunner, calls: number): Promise<{ longest: number; tbt: number; longtasks: number; totalMs: number }> {
  const entries: PerformanceEntry[] = [];
  const obs = new PerformanceObserver((list) => entries.push(...list.getEntries()));
  obs.observe({ type: 'longtask', buffered: false });
  // Heartbeat: a setTimeout loop (4 ms cadence once nested); the largest gap between beats is the
  // longest task plus at most one cadence. (A MessageChannel loop would keep the main thread 100 %
  // busy and steal a core from the worker on a 2-core machine.)
  let last = performance.now();
  let longest = 0;
  let beating = true;
  const beat = (): void => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (beating) setTimeout(beat, 0);
  };
  setTimeout(beat, 0);
  const pics = Array.from({ length: 4 }, (_, i) => testPixels(MOBILENET, i));
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) await runner.run(pics[i % 4]!);
  const totalMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 60));
  beating = false;
  obs.disconnect();
  const tbt = entries.reduce((s, e) => s + Math.max(0, e.duration - 50), 0);
  return { longest, tbt, longtasks: entries.length, totalMs };
}

export const blocking: Workload = async (p) => {
  const calls = p.smoke ? 3 : 100;
  const rows: Row[] = [];
  const wi = await webinferRunner(p, MOBILENET);
  await wi.run(testPixels(MOBILENET, 9)); // warm-up
  const a = await probe(wi, calls);
  await wi.dispose();
  const tm = await tfjsMainRunner(p, MOBILENET);
  await tm.run(testPixels(MOBILENET, 9));
  const b = await probe(tm, calls);
  await tm.dispose();
  for (const [name, r] of [['webinfer', a], ['tfjs-main', b]] as const) {
    rows.push({ id: `blocking.${name}.longest`, label: `${name}: longest main-thread task (largest heartbeat gap, 4 ms cadence)`, unit: 'ms', median: r.longest });
    rows.push({ id: `blocking.${name}.tbt`, label: `${name}: total blocking time (longtask Σ(d − 50 ms))`, unit: 'ms', median: r.tbt });
    rows.push({ id: `blocking.${name}.longtasks`, label: `${name}: long tasks (≥ 50 ms)`, unit: 'tasks', median: r.longtasks });
    rows.push({ id: `blocking.${name}.total`, label: `${name}: wall time of the ${calls} calls`, unit: 'ms', median: r.totalMs });
  }
  return { title: `Main-thread blocking during ${calls} MobileNetV2 classifications`, rows, notes: ['One run of each (no median): the figures are totals and maxima over the 100 calls.'] };
};
