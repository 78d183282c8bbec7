/**
 * 5. Throughput: 256 concurrent `classify()` calls on the Fashion CNN, images/s, with
 * micro-batching (default) and without (`batching: false`), paired over rounds; for reference,
 * plain tfjs in a hand-written worker called one after another.
 */
import { FASHION, testPixels } from '../models.js';
import { tfjsWorkerRunner, webinferRunner } from '../runners/image-runners.js';
import { paired, ratio, summarize } from '../stats.js';
import type { Workload } from '../types.js';

const N = 256;

export const throughput: Workload = async (p) => {
  const on = await webinferRunner(p, FASHION);
  const off = await webinferRunner(p, FASHION, { batching: false });
  const tw = await tfjsWorkerRunner(p, FASHION);
  try {
    const pics = Array.from({ length: N }, (_, i) => testPixels(FASHION, i));
    const burst = (run: (px: (typeof pics)[number]) => Promise<unknown>) => Promise.all(pics.map((px) => run(px)));
    const sequential = async (run: (px: (typeof pics)[number]) => Promise<unknown>) => {
      for (const px of pics) await run(px);
    };
    const t = await paired(
      { batched: () => burst((px) => on.model.classify(px)), unbatched: () => burst((px) => off.model.classify(px)), 'tfjs-worker': () => sequential((px) => tw.run(px)) },
      p.smoke ? { warmup: 1, runs: 2 } : { warmup: 3, runs: 15 },
      { gapMs: 5 },
    );
    const ips = (ms: number[]) => summarize(ms.map((m) => (1000 * N) / m));
    const rows = (['batched', 'unbatched', 'tfjs-worker'] as const).map((k) => {
      const s = ips(t[k]);
      const slow = summarize(t[k]).p95;
      return { id: `throughput.fashion.${k}`, label: `${k === 'tfjs-worker' ? 'plain tfjs worker, sequential calls' : `webinfer, ${k}`}`, unit: 'images/s', median: s.median, p95: (1000 * N) / slow, n: s.n };
    });
    return {
      title: `Throughput: ${N} concurrent classify() calls (Fashion CNN)`,
      rows: [...rows, { id: 'throughput.fashion.batching-gain', label: 'micro-batching gain (batched / unbatched images/s)', unit: '×', median: ratio(t.unbatched, t.batched) }],
      notes: ['"p95" of a rate = the rate at the 95th-percentile burst time (the slow tail).'],
    };
  } finally {
    await on.dispose();
    await off.dispose();
    await tw.dispose();
  }
};
