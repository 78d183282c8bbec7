/**
 * 1. The ceiling: WASM SIMD matMul GFLOP/s at 512³ and 1024³, single-threaded and with
 * `params.threads` threads, each in its own worker (a tfjs WASM module has one thread pool),
 * paired round by round. Every other GFLOP/s figure is compared with these.
 */
import { paired, summarize } from '../stats.js';
import { row, type Row, type Workload } from '../types.js';
import { call } from '../workers/call.js';

async function startWorker(threads: number): Promise<{ worker: Worker; threads: number }> {
  const worker = new Worker(new URL('../workers/ceiling.worker.ts', import.meta.url), { type: 'module' });
  const r = await call<{ ready: { threads: number } }>(worker, { threads });
  return { worker, threads: r.ready.threads };
}

export const ceiling: Workload = async (p) => {
  const one = await startWorker(1);
  const many = await startWorker(p.threads);
  const rows: Row[] = [];
  try {
    for (const n of [512, 1024]) {
      const plan = p.smoke ? { warmup: 1, runs: 3 } : n === 512 ? { warmup: 10, runs: 60 } : { warmup: 4, runs: 24 };
      const ms = { one: [] as number[], many: [] as number[] };
      const t = await paired(
        {
          one: async () => ms.one.push((await call<{ ms: number }>(one.worker, { n })).ms),
          many: async () => ms.many.push((await call<{ ms: number }>(many.worker, { n })).ms),
        },
        plan,
      );
      void t; // wall times include messaging; the workers' own timings are used
      const flop = 2 * n ** 3;
      const gflops = (xs: number[]) => summarize(xs.slice(plan.warmup).map((m) => flop / (m * 1e6)));
      const g1 = gflops(ms.one);
      const gN = gflops(ms.many);
      // For throughput figures the "p95" is the slow tail: the 5th percentile of GFLOP/s.
      const slow = (xs: number[]) => summarize(xs.slice(plan.warmup).map((m) => m)).p95;
      rows.push(row(`ceiling.matmul${n}.single`, `matMul ${n}³, 1 thread`, 'GFLOP/s', { median: g1.median, p95: flop / (slow(ms.one) * 1e6), n: g1.n }));
      rows.push(row(`ceiling.matmul${n}.threaded`, `matMul ${n}³, ${many.threads} thread${many.threads === 1 ? "" : "s"}`, 'GFLOP/s', { median: gN.median, p95: flop / (slow(ms.many) * 1e6), n: gN.n }));
      rows.push(row(`ceiling.matmul${n}.speedup`, `matMul ${n}³, ${many.threads} thread${many.threads === 1 ? "" : "s"} vs 1`, '×', { median: gN.median / g1.median }));
    }
  } finally {
    one.worker.terminate();
    many.worker.terminate();
  }
  return {
    title: 'Ceiling: WASM SIMD matMul (tfjs-wasm / XNNPACK, float32, in a worker)',
    rows,
    facts: { threads: many.threads },
    notes: ['GFLOP/s = 2·n³ / time of one product, result read back; "p95" column = the slow tail (GFLOP/s at the 95th-percentile time).'],
  };
};
