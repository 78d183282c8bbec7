/**
 * Benchmark statistics: every figure is a median and a p95 over N runs taken after warm-up.
 * Paired comparisons run the variants in the same rounds, in a rotating order (A B C, B C A, …),
 * so drift (thermal, other load) hits every variant alike; their ratio is the median of the
 * per-round ratios.
 */

/** Median, p95 and friends of a sample, in the sample's unit. */
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly p95: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

/** Nearest-rank quantile of an ascending-sorted array. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

/**
 * @example
 * summarize([3, 1, 2, 10]); // { n: 4, median: 2.5, p95: 10, mean: 4, min: 1, max: 10 }
 */
export function summarize(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  const mid = Math.floor(n / 2);
  const median = n === 0 ? Number.NaN : n % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { n, median, p95: quantile(s, 0.95), mean: n ? s.reduce((a, b) => a + b, 0) / n : Number.NaN, min: s[0] ?? Number.NaN, max: s[n - 1] ?? Number.NaN };
}

export interface RunPlan {
  /** Untimed rounds first (JIT, caches, lazy kernels). */
  readonly warmup: number;
  /** Timed rounds. */
  readonly runs: number;
}

/** Times one async thunk: warm-up, then `runs` timed calls (ms). */
export async function timeRuns(fn: () => unknown, plan: RunPlan): Promise<number[]> {
  for (let i = 0; i < plan.warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < plan.runs; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/**
 * Runs every variant once per round, rotating the order each round; returns each variant's
 * samples (ms), round-aligned (sample i of every variant comes from round i). `gapMs`: an
 * untimed pause after each call (WASM thread pools spin-wait for a while after a run; without a
 * pause one runtime's spinning threads would slow the next variant down on a small machine).
 *
 * @example
 * const t = await paired({ a: () => f(), b: () => g() }, { warmup: 10, runs: 100 });
 * ratio(t.a, t.b); // median over rounds of a[i] / b[i]
 */
export async function paired<K extends string>(variants: Record<K, () => unknown>, plan: RunPlan, opts: { gapMs?: number } = {}): Promise<Record<K, number[]>> {
  const names = Object.keys(variants) as K[];
  const out = Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let round = 0; round < plan.warmup + plan.runs; round++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(round + j) % names.length] as K;
      const t0 = performance.now();
      await variants[name]();
      const ms = performance.now() - t0;
      if (round >= plan.warmup) out[name].push(ms);
      // An untimed pause lets the previous runtime's thread pool stop spinning before the next starts.
      if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
    }
  }
  return out;
}

/** Median of the per-round ratios a[i] / b[i] (both arrays from the same `paired` call). */
export function ratio(a: readonly number[], b: readonly number[]): number {
  const r: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) r.push((a[i] as number) / (b[i] as number));
  return summarize(r).median;
}

/** Per-round differences a[i] - b[i], summarised (e.g. webinfer minus plain tfjs, per call). */
export function difference(a: readonly number[], b: readonly number[]): Summary {
  const d: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) d.push((a[i] as number) - (b[i] as number));
  return summarize(d);
}
