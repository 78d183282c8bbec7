/**
 * 3. Overhead: webinfer minus plain tfjs in a hand-written worker, per call, on the Fashion CNN
 * (the smallest model, where overhead shows most). Paired rounds; the figure is the median and
 * p95 of the per-round differences.
 */
import { FASHION, testPixels } from '../models.js';
import { tfjsWorkerRunner, webinferRunner } from '../runners/image-runners.js';
import { difference, paired, summarize } from '../stats.js';
import type { Workload } from '../types.js';

export const overhead: Workload = async (p) => {
  const wi = await webinferRunner(p, FASHION);
  const tw = await tfjsWorkerRunner(p, FASHION);
  try {
    const pics = Array.from({ length: 8 }, (_, i) => testPixels(FASHION, i));
    let i = 0;
    const t = await paired({ webinfer: () => wi.run(pics[i++ % 8]!), 'tfjs-worker': () => tw.run(pics[i++ % 8]!) }, p.smoke ? { warmup: 2, runs: 5 } : { warmup: 50, runs: 600 }, { gapMs: 1 });
    const d = difference(t.webinfer, t['tfjs-worker']);
    const a = summarize(t.webinfer);
    const b = summarize(t['tfjs-worker']);
    return {
      title: 'Overhead: webinfer minus plain tfjs in a hand-written worker, per call (Fashion CNN)',
      rows: [
        { id: 'overhead.fashion', label: 'webinfer − tfjs worker, per call', unit: 'ms', median: d.median, p95: d.p95, n: d.n },
        { id: 'overhead.fashion.webinfer', label: 'webinfer classify()', unit: 'ms', median: a.median, p95: a.p95, n: a.n },
        { id: 'overhead.fashion.tfjs-worker', label: 'hand-written tfjs worker', unit: 'ms', median: b.median, p95: b.p95, n: b.n },
      ],
      facts: { webinfer: wi.facts, tfjsWorker: tw.facts },
      notes: ['Both receive the same pixels by structured-clone copy and return every class score; webinfer adds validation, its protocol (comlink), time limits, abort plumbing and top-k.'],
    };
  } finally {
    await wi.dispose();
    await tw.dispose();
  }
};
