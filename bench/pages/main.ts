/**
 * The benchmark page. The runner (`bench/run.ts`) opens it in headless Chromium and calls
 * `window.bench.run(name, params)` once per workload, each in a fresh page.
 * One workload per module under `workloads/`; this table is the only list of them.
 */
import type { BenchParams, Workload, WorkloadResult } from './types.js';
import { ceiling } from './workloads/ceiling.js';
import { classify } from './workloads/classify.js';
import { coldstart } from './workloads/coldstart.js';
import { generation } from './workloads/generation.js';
import { gpt2 } from './workloads/gpt2.js';
import { memory } from './workloads/memory.js';
import { overhead } from './workloads/overhead.js';
import { blocking } from './workloads/blocking.js';
import { throughput } from './workloads/throughput.js';

const WORKLOADS: Readonly<Record<string, Workload>> = Object.freeze({
  ceiling,
  classify,
  overhead,
  blocking,
  throughput,
  generation,
  coldstart,
  memory,
  gpt2,
});

window.bench = {
  names: Object.keys(WORKLOADS),
  async run(name, params) {
    const w = WORKLOADS[name];
    if (!w) throw new Error(`unknown workload "${name}" (have: ${Object.keys(WORKLOADS).join(', ')})`);
    return w(params);
  },
  env: () => ({ crossOriginIsolated, hardwareConcurrency: navigator.hardwareConcurrency, userAgent: navigator.userAgent }),
};
