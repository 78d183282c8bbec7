/**
 * The four classification runners of the comparison, behind one interface: each takes the same
 * pixels and returns the model's scores as probabilities (softmax applied when the model emits
 * logits, outside the timed part for all but webinfer, which does it itself).
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type * as Ort from 'onnxruntime-web';
import { createClient, type Classifier, type WebInferClient } from '../../../src/index.js';
import type { BenchImageModel } from '../models.js';
import type { BenchParams } from '../types.js';
import { call } from '../workers/call.js';
import { ortSession } from './ort.js';
import { classifyTfjs, loadTfjs, type PixelsIn, type PreSpec } from './tfjs-classify.js';
import { initTfjsWasm } from './tfjs-wasm.js';

export interface ImageRunner {
  readonly name: 'webinfer' | 'tfjs-main' | 'tfjs-worker' | 'ort';
  /** One classification; resolves to raw scores (probabilities or logits, as the model emits). */
  run(px: PixelsIn): Promise<ArrayLike<number>>;
  dispose(): Promise<void>;
  readonly facts: Readonly<Record<string, unknown>>;
}

const pre = (m: BenchImageModel): PreSpec => ({ modelChannels: m.modelChannels, scale: m.scale, mean: m.mean, std: m.std });

export async function webinferRunner(p: BenchParams, m: BenchImageModel, extra: { batching?: false } = {}): Promise<ImageRunner & { client: WebInferClient; model: Classifier }> {
  const client = createClient({ registry: p.registry, wasmThreads: p.threads, ...extra });
  const backend = await client.ready();
  const model = await client.load(m.ref, { task: 'image-classification' });
  const k = m.output === 'logits' ? 1000 : 10;
  return {
    name: 'webinfer',
    client,
    model,
    // All scores (topK = number of classes), in class order, so they can be compared.
    async run(px) {
      const preds = await model.classify(px, { topK: k });
      const out = new Float64Array(preds.length);
      for (const q of preds) out[q.index] = q.score;
      return out;
    },
    dispose: () => client.dispose(),
    facts: { backend: backend.name, threadCount: backend.threadCount, runtime: model.info.runtime ?? '' },
  };
}

export async function tfjsMainRunner(p: BenchParams, m: BenchImageModel): Promise<ImageRunner> {
  const info = await initTfjsWasm(p.threads);
  const model: LayersModel = await loadTfjs(p.files + m.tfjsPath);
  return { name: 'tfjs-main', run: (px) => classifyTfjs(model, px, pre(m)), dispose: async () => void model.dispose(), facts: info };
}

export async function tfjsWorkerRunner(p: BenchParams, m: BenchImageModel): Promise<ImageRunner> {
  const worker = new Worker(new URL('../workers/tfjs-classify.worker.ts', import.meta.url), { type: 'module' });
  const r = await call<{ ready: Record<string, unknown> }>(worker, { init: { url: p.files + m.tfjsPath, threads: p.threads } });
  const spec = pre(m);
  return {
    name: 'tfjs-worker',
    run: async (px) => (await call<{ scores: Float32Array }>(worker, { px, pre: spec })).scores,
    dispose: async () => worker.terminate(),
    facts: r.ready,
  };
}

/** ONNX Runtime Web, WASM EP, on the page: JS pre-processing to NCHW float32, then `run`. */
export async function ortRunner(p: BenchParams, m: BenchImageModel): Promise<ImageRunner> {
  const { ort, session } = await ortSession(p.ort, p.threads, p.files + m.onnxPath);
  const inName = session.inputNames[0] as string;
  const outName = session.outputNames[0] as string;
  const n = m.size;
  const c = m.modelChannels;
  const input = new Float32Array(c * n * n);
  return {
    name: 'ort',
    async run(px) {
      const pc = px.channels;
      for (let k = 0; k < c; k++) {
        const mean = (m.mean.length === 1 ? m.mean[0] : m.mean[k]) as number;
        const std = (m.std.length === 1 ? m.std[0] : m.std[k]) as number;
        const base = k * n * n;
        for (let i = 0; i < n * n; i++) input[base + i] = ((px.data[i * pc + k] as number) * m.scale - mean) / std;
      }
      const feeds: Record<string, Ort.Tensor> = { [inName]: new ort.Tensor('float32', input, [1, c, n, n]) };
      const out = await session.run(feeds);
      const t = out[outName] as Ort.Tensor;
      const scores = (t.data as Float32Array).slice();
      t.dispose();
      return scores;
    },
    dispose: () => session.release(),
    facts: { threads: ort.env.wasm.numThreads, simd: ort.env.wasm.simd ?? true },
  };
}
