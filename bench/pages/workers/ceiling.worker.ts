/**
 * The machine's ceiling: tfjs-wasm (XNNPACK, SIMD) float32 matMul GFLOP/s in a worker with a
 * given thread count. Messages: `{ threads }` → `{ ready }`; `{ n, reps }` → `{ ms }` (one timed
 * product of two n×n matrices, result read back).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initTfjsWasm } from '../runners/tfjs-wasm.js';

let a: tf.Tensor2D | undefined;
let b: tf.Tensor2D | undefined;

self.onmessage = async (e: MessageEvent<{ threads: number } | { n: number }>) => {
  try {
    if ('threads' in e.data) {
      const info = await initTfjsWasm(e.data.threads);
      self.postMessage({ ready: info });
      return;
    }
    const { n } = e.data;
    if (!a || a.shape[0] !== n) {
      a?.dispose();
      b?.dispose();
      a = tf.randomUniform([n, n], -1, 1, 'float32', 1) as tf.Tensor2D;
      b = tf.randomUniform([n, n], -1, 1, 'float32', 2) as tf.Tensor2D;
    }
    const [x, y] = [a, b as tf.Tensor2D];
    const t0 = performance.now();
    const c = tf.matMul(x, y);
    c.dataSync();
    const ms = performance.now() - t0;
    c.dispose();
    self.postMessage({ ms });
  } catch (err) {
    self.postMessage({ error: String(err) });
  }
};
