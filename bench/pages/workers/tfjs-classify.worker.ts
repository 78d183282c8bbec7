/**
 * The hand-written baseline: plain tfjs in a plain worker, plain postMessage. Messages:
 * `{ init: { url, threads } }` → `{ ready }`; `{ px, pre }` → `{ scores }` (transferred back).
 * Pixels arrive by structured-clone copy, as webinfer's do by default.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { classifyTfjs, loadTfjs, type PixelsIn, type PreSpec } from '../runners/tfjs-classify.js';
import { initTfjsWasm } from '../runners/tfjs-wasm.js';

let model: LayersModel | undefined;

self.onmessage = async (e: MessageEvent<{ init: { url: string; threads: number } } | { px: PixelsIn; pre: PreSpec }>) => {
  try {
    if ('init' in e.data) {
      const info = await initTfjsWasm(e.data.init.threads);
      model = await loadTfjs(e.data.init.url);
      self.postMessage({ ready: info });
      return;
    }
    if (!model) throw new Error('not initialised');
    const scores = await classifyTfjs(model, e.data.px, e.data.pre);
    self.postMessage({ scores }, { transfer: [scores.buffer] });
  } catch (err) {
    self.postMessage({ error: String(err) });
  }
};
