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
    const variants = { webinfer: () => wi.run(pics[i++ % 8]!), 'tfjs-worker': () => tw.run(pics[i++ % 8]!) };
    const plan = p.smoke ? { warmup: 2, runs: 5 } : { warmup: 50, runs: 600 };
    // Two call patterns: after an idle pause (≥ 4 ms: the worker and its thread pool have gone to
    // sleep, like calls driven by user events) and back to back (a loop over pictures).
    const t = await paired(variants, plan, { gapMs: 1 });
    const hot = await paired(variants, plan);
    const d = difference(t.webinfer, t['tfjs-worker']);
    const dh = difference(hot.webinfer, hot['tfjs-worker']);
    const a = summarize(t.webinfer);
    const b = summarize(t['tfjs-worker']);
    const ah = summarize(hot.webinfer);
    const bh = summarize(hot['tfjs-worker']);
    return {
      title: 'Overhead: webinfer minus plain tfjs in a hand-written worker, per call (Fashion CNN)',
      rows: [
        { id: 'overhead.fashion', label: 'after an idle pause: webinfer − tfjs worker, per call', unit: 'ms', median: d.median, p95: d.p95, n: d.n },
        { id: 'overhead.fashion.webinfer', label: 'after an idle pause: webinfer classify()', unit: 'ms', median: a.median, p95: a.p95, n: a.n },
        { id: 'overhead.fashion.tfjs-worker', label: 'after an idle pause: hand-written tfjs worker', unit: 'ms', median: b.median, p95: b.p95, n: b.n },
        { id: 'overhead.fashion.back-to-back', label: 'back to back: webinfer − tfjs worker, per call', unit: 'ms', median: dh.median, p95: dh.p95, n: dh.n },
        { id: 'overhead.fashion.back-to-back.webinfer', label: 'back to back: webinfer classify()', unit: 'ms', median: ah.median, p95: ah.p95, n: ah.n },
        { id: 'overhead.fashion.back-to-back.tfjs-worker', label: 'back to back: hand-written tfjs worker', unit: 'ms', median: bh.median, p95: bh.p95, n: bh.n },
      ],
      facts: { webinfer: wi.facts, tfjsWorker: tw.facts },
      notes: [
        'Both receive the same pixels by structured-clone copy and return every class score; webinfer adds validation, its protocol (comlink), time limits, abort plumbing and top-k.',
        'The target is checked on the idle-pause pattern (the worse one for webinfer); back to back, webinfer is usually faster than the hand-written worker.',
      ],
    };
  } finally {
    await wi.dispose();
    await tw.dispose();
  }
};
