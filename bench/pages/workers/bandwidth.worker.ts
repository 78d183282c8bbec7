/**
 * The physical limit of decoding: WebAssembly memory bandwidth, measured with webinfer's own
 * engine (a streaming read of 256 MiB of float32 with SIMD loads, split between `threads`
 * threads, `JOB_BANDWIDTH` in workers/engine/native/engine.c). Messages: `{ threads, mib, reps }`
 * → `{ gbps: number[] }` (one figure per repetition, after one warm-up pass).
 */
import { Engine, JOB } from '../../../workers/engine/engine.js';
import { ENGINE_SOURCES } from '../../../workers/engine/sources.js';

self.onmessage = async (e: MessageEvent<{ threads: number; mib: number; reps: number }>) => {
  try {
    const { threads, mib, reps } = e.data;
    const engine = await Engine.start({ sources: ENGINE_SOURCES, threads });
    const n = (mib * 2 ** 20) / 4;
    const r = engine.alloc(n * 4);
    engine.f32(r).fill(1);
    const gbps: number[] = [];
    for (let i = 0; i <= reps; i++) {
      const t0 = performance.now();
      engine.run(JOB.bandwidth, [r.ptr, n]);
      const ms = performance.now() - t0;
      if (i > 0) gbps.push((n * 4) / ms / 1e6);
    }
    engine.dispose();
    self.postMessage({ gbps, threads: engine.threads, variant: engine.variant });
  } catch (err) {
    self.postMessage({ error: String(err) });
  }
};
