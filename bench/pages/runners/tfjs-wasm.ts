/**
 * Plain tfjs on its WASM backend, set up the way an app would (used in the page and in the
 * hand-written baseline workers). The bench build applies the same tfjs glue patch as webinfer
 * (vite.config.ts `tfjsThreadedGluePatches`), so `threads` is honoured here too and the
 * comparisons measure webinfer's overhead, not a different thread count.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { DEFAULT_WASM_PATHS } from '../../../workers/wasm-paths.js';

export async function initTfjsWasm(threads: number): Promise<{ threads: number; simd: boolean; multithread: boolean }> {
  setWasmPaths({ ...DEFAULT_WASM_PATHS });
  setThreadsCount(threads);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs WASM backend did not start');
  await tf.ready();
  const multithread = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) === true;
  return { threads: multithread ? getThreadsCount() : 1, simd: (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true, multithread };
}
