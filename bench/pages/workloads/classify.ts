/**
 * 2. classify latency, batch 1, same weights and pixels: webinfer (worker) vs plain tfjs on the
 * main thread vs plain tfjs in a hand-written worker vs ONNX Runtime Web (WASM EP, main thread),
 * on the Fashion CNN and on the MobileNetV2 fixture. Timed: pixels in → all class scores back in
 * the page's JS (each runner's own pre-processing included). Paired rounds, rotating order.
 * Before timing, the four runners must agree (same top-1 on 4 pictures; max |Δp| reported), or
 * the workload fails.
 */
import { argmax, FASHION, MOBILENET, softmax, testPixels, type BenchImageModel } from '../models.js';
import { ortRunner, tfjsMainRunner, tfjsWorkerRunner, webinferRunner, type ImageRunner } from '../runners/image-runners.js';
import { paired, ratio, summarize } from '../stats.js';
import type { BenchParams, Row, Workload } from '../types.js';

/** The multiply-adds of the MobileNetV2 fixture, from its meta.json (written by make-mobilenet). */
async function macsOf(p: BenchParams, m: BenchImageModel): Promise<number> {
  if (m.key !== 'mobilenetv2') return m.macs;
  const meta = (await (await fetch(`${p.files}/fixtures/mobilenetv2/meta.json`)).json()) as { macs: number };
  return meta.macs;
}

/** Checks that every runner gives the same top-1 and close probabilities; returns max |Δp|. */
async function agree(runners: readonly ImageRunner[], m: BenchImageModel): Promise<number> {
  let maxDiff = 0;
  for (let s = 0; s < 4; s++) {
    const px = testPixels(m, s);
    const outs = await Promise.all(runners.map(async (r) => ({ name: r.name, p: r.name === 'webinfer' || m.output === 'probabilities' ? Array.from(await r.run(px)) : softmax(await r.run(px)) })));
    const ref = outs[0] as { name: string; p: number[] };
    for (const o of outs) {
      if (argmax(o.p) !== argmax(ref.p)) throw new Error(`${m.key}: ${o.name} top-1 ${argmax(o.p)} ≠ ${ref.name} top-1 ${argmax(ref.p)} on picture ${s}`);
      for (let i = 0; i < o.p.length; i++) maxDiff = Math.max(maxDiff, Math.abs((o.p[i] as number) - (ref.p[i] as number)));
    }
  }
  return maxDiff;
}

export async function compareModel(p: BenchParams, m: BenchImageModel): Promise<{ rows: Row[]; facts: Record<string, unknown> }> {
  const runners = [await webinferRunner(p, m), await tfjsMainRunner(p, m), await tfjsWorkerRunner(p, m), await ortRunner(p, m)];
  try {
    const maxDiff = await agree(runners, m);
    const macs = await macsOf(p, m);
    const plan = p.smoke ? { warmup: 1, runs: 3 } : m.key === 'fashion' ? { warmup: 30, runs: 300 } : { warmup: 5, runs: 40 };
    const pics = Array.from({ length: 8 }, (_, i) => testPixels(m, i));
    let i = 0;
    const variants = Object.fromEntries(runners.map((r) => [r.name, () => r.run(pics[i++ % pics.length] as (typeof pics)[number])])) as Record<ImageRunner['name'], () => Promise<unknown>>;
    const t = await paired(variants, plan, { gapMs: 20 });
    const rows: Row[] = [];
    for (const r of runners) {
      const s = summarize(t[r.name]);
      rows.push({ id: `classify.${m.key}.${r.name}`, label: `${m.key}: ${r.name}`, unit: 'ms', median: s.median, p95: s.p95, n: s.n });
    }
    for (const r of runners) {
      const s = summarize(t[r.name]);
      rows.push({ id: `classify.${m.key}.${r.name}.gflops`, label: `${m.key}: ${r.name}, effective`, unit: 'GFLOP/s', median: (2 * macs) / (s.median * 1e6), p95: (2 * macs) / (s.p95 * 1e6) });
    }
    rows.push({ id: `classify.${m.key}.vs-ort`, label: `${m.key}: ONNX Runtime time / webinfer time`, unit: '×', median: ratio(t.ort, t.webinfer) });
    rows.push({ id: `classify.${m.key}.vs-tfjs-main`, label: `${m.key}: tfjs main-thread time / webinfer time`, unit: '×', median: ratio(t['tfjs-main'], t.webinfer) });
    rows.push({ id: `classify.${m.key}.vs-tfjs-worker`, label: `${m.key}: tfjs hand-written worker time / webinfer time`, unit: '×', median: ratio(t['tfjs-worker'], t.webinfer) });
    return { rows, facts: { [`${m.key}.macs`]: macs, [`${m.key}.maxAbsDiffProb`]: maxDiff, [`${m.key}.runners`]: Object.fromEntries(runners.map((r) => [r.name, r.facts])) } };
  } finally {
    for (const r of runners) await r.dispose();
  }
}

export const classify: Workload = async (p) => {
  const a = await compareModel(p, FASHION);
  const b = await compareModel(p, MOBILENET);
  return {
    title: 'classify latency, batch 1: webinfer vs plain tfjs (main thread, hand-written worker) vs ONNX Runtime Web',
    rows: [...a.rows, ...b.rows],
    facts: { ...a.facts, ...b.facts, threads: p.threads },
    notes: [
      'Timed: pixels in → every class score back in page JS. webinfer and the tfjs worker receive the pixels by structured-clone copy; tfjs and ONNX Runtime on the main thread block the page meanwhile (see blocking).',
      'Same weights everywhere (tfjs layers model and ONNX export of it); effective GFLOP/s = 2 · multiply-adds / median time.',
    ],
  };
};
