/**
 * Task `image-classification` (formats `tfjs-layers`, `tfjs-graph`): one operation,
 * `classify`, micro-batched. Pre-processing from the manifest, and scores → top-k.
 * Pre-processing runs as tfjs ops on the active backend, in this order (the same
 * as the training pipeline described in the manifest):
 * RGBA/RGB/gray → target channels → resize → `x * scale` → `(x - mean) / std` → layout, on a
 * stack of one or more images of one size ([B, H, W, C]).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ManifestError } from '../../src/shared/errors/manifest.js';
import type { RawPixels } from '../../src/shared/image-limits.js';
import type { ImagePreprocess, Manifest } from '../../src/shared/registry/schema.js';
import { abortError, throwIfAborted } from '../../src/shared/abort.js';
import { checkTopK } from '../../src/shared/image-limits.js';
import type { Outcome } from '../../src/shared/settle.js';
import type { Prediction } from '../../src/shared/types.js';
import type { ClassifyInput } from '../../src/shared/wire.js';
import { decodeImage } from '../decode.js';
import { BatchQueue } from '../queues/batch-queue.js';
import { compileCnn, EngineCnn } from '../engine/cnn.js';
import type { LoadedFiles } from '../loader.js';
import { createRunnable, type Runnable } from '../runnable.js';
import { defineTask, type ModelFacts, type OpCall, type TaskEnv } from './task.js';

/** Builds the model's input tensor (shape [1, H, W, C] or [1, C, H, W]). The caller disposes it. */
export function preprocess(pixels: RawPixels, p: ImagePreprocess): tf.Tensor4D {
  return preprocessStack([pixels], p);
}

/**
 * Builds the input of several images of the same width, height and channels at once
 * (shape [B, H, W, C] or [B, C, H, W]): one tensor and one op of each kind for the whole
 * stack. Every op works per element, per pixel or per image, so each row is exactly what
 * `preprocess` gives for that image alone. The caller disposes it.
 */
export function preprocessStack(stack: readonly RawPixels[], p: ImagePreprocess): tf.Tensor4D {
  const js = preprocessStackJs(stack, p);
  return js ? tf.tensor4d(js, [stack.length, p.height, p.width, p.channels], 'float32') : preprocessStackOps(stack, p);
}

/**
 * The same pre-processing in plain JavaScript, for the common case that needs no resize (the image has the
 * model's size) and a channels-last model: one pass over the pixels, no tfjs kernel. Every step is a float32
 * operation as the tfjs ops do it (`Math.fround` after each), so the values are the same bits as tfjs's CPU
 * backend gives (a gray conversion on another backend may differ in the last bit of its sum). Undefined where
 * it does not apply (a resize, channels-first, images of different sizes).
 */
export function preprocessStackJs(stack: readonly RawPixels[], p: ImagePreprocess): Float32Array | undefined {
  const first = stack[0];
  if (!first || p.layout === 'nchw' || first.width !== p.width || first.height !== p.height) return undefined;
  const { width, height, channels } = first;
  if (stack.some((img) => img.width !== width || img.height !== height || img.channels !== channels)) return undefined;
  const f = Math.fround;
  const pixels = width * height;
  const C = p.channels;
  const out = new Float32Array(stack.length * pixels * C);
  const [wr, wg, wb] = p.grayWeights.map(f) as [number, number, number];
  const scale = f(p.scale);
  const mean = Array.from({ length: C }, (_, c) => f((p.mean.length === 1 ? p.mean[0] : p.mean[c]) as number));
  const std = Array.from({ length: C }, (_, c) => f((p.std.length === 1 ? p.std[0] : p.std[c]) as number));
  const subMean = !(p.mean.length === 1 && p.mean[0] === 0);
  const divStd = !(p.std.length === 1 && p.std[0] === 1);
  let o = 0;
  for (const img of stack) {
    const d = img.data;
    for (let i = 0; i < pixels; i++) {
      const at = i * channels;
      for (let c = 0; c < C; c++) {
        let v: number;
        // Gray: three float32 products summed and rounded once (as tfjs's CPU backend sums; its WASM one may differ by an ulp).
        if (C === 1 && channels >= 3) v = f(f(f(d[at] as number) * wr) + f(f(d[at + 1] as number) * wg) + f(f(d[at + 2] as number) * wb));
        else if (channels === 1) v = f(d[at] as number);
        else v = f(d[at + c] as number);
        let y = f(v * scale);
        if (subMean) y = f(y - (mean[c] as number));
        if (divStd) y = f(y / (std[c] as number));
        out[o++] = y;
      }
    }
  }
  return out;
}

/** The pre-processing as tfjs ops (any size: resize included). */
export function preprocessStackOps(stack: readonly RawPixels[], p: ImagePreprocess): tf.Tensor4D {
  const first = stack[0];
  if (!first) throw new ManifestError('preprocessStack() needs at least one image', { url: 'preprocess', issues: ['empty stack'] });
  const { width, height, channels } = first;
  const b = stack.length;
  let data: Float32Array;
  if (b === 1 && first.data instanceof Float32Array) data = first.data;
  else {
    data = new Float32Array(b * height * width * channels);
    stack.forEach((img, i) => {
      if (img.width !== width || img.height !== height || img.channels !== channels) {
        throw new ManifestError('preprocessStack() needs images of one size', { url: 'preprocess', issues: ['mixed sizes'] });
      }
      data.set(img.data, i * height * width * channels);
    });
  }
  return tf.tidy(() => {
    let x: tf.Tensor4D = tf.tensor4d(data, [b, height, width, channels], 'float32');
    // Channels.
    if (p.channels === 1) {
      if (channels >= 3) {
        const [wr, wg, wb] = p.grayWeights;
        const rgb = channels === 4 ? tf.slice(x, [0, 0, 0, 0], [b, height, width, 3]) : x;
        x = tf.sum(tf.mul(rgb, tf.tensor1d([wr, wg, wb])), 3, true) as tf.Tensor4D;
      }
    } else if (channels === 1) {
      x = tf.tile(x, [1, 1, 1, 3]);
    } else if (channels === 4) {
      x = tf.slice(x, [0, 0, 0, 0], [b, height, width, 3]);
    }
    // Size.
    if (height !== p.height || width !== p.width) {
      x = p.resize === 'nearest' ? tf.image.resizeNearestNeighbor(x, [p.height, p.width]) : tf.image.resizeBilinear(x, [p.height, p.width]);
    }
    // Values.
    let y: tf.Tensor4D = tf.mul(x, p.scale);
    const mean = p.mean.length === 1 ? (p.mean[0] as number) : tf.tensor1d(p.mean);
    const std = p.std.length === 1 ? (p.std[0] as number) : tf.tensor1d(p.std);
    if (!(typeof mean === 'number' && mean === 0)) y = tf.sub(y, mean);
    if (!(typeof std === 'number' && std === 1)) y = tf.div(y, std);
    // Layout.
    if (p.layout === 'nchw') y = tf.transpose(y, [0, 3, 1, 2]);
    return y;
  });
}

/** Numerically stable softmax in float64. */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] as number);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    out[i] = Math.exp((logits[i] as number) - max);
    sum += out[i] as number;
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / sum;
  return out;
}

/**
 * Scores → the `topK` best predictions, best first (ties: lower index first).
 *
 * @example
 * topPredictions([0.1, 0.7, 0.2], ['a', 'b', 'c'], 2, 'probabilities'); // [{label:'b',index:1,score:0.7},{label:'c',index:2,score:0.2}]
 */
export function topPredictions(scores: ArrayLike<number>, labels: readonly string[], topK: number, output: Manifest['output']): Prediction[] {
  if (scores.length !== labels.length) {
    throw new ManifestError(`the model outputs ${scores.length} scores but the manifest has ${labels.length} labels`, { url: 'labels', issues: ['labels/output size mismatch'] });
  }
  const probs = output === 'logits' ? softmax(scores) : scores;
  const order = Array.from({ length: probs.length }, (_, i) => i);
  order.sort((a, b) => (probs[b] as number) - (probs[a] as number) || a - b);
  return order.slice(0, Math.min(topK, order.length)).map((i) => ({ label: labels[i] as string, index: i, score: probs[i] as number }));
}

/** One image of a batch: decoded pixels and how many predictions its caller wants. */
export interface BatchImage {
  readonly pixels: RawPixels;
  readonly topK: number;
}

/** A model that runs a batch of inputs (see `workers/runnable.ts`). */
interface BatchRunner {
  run(input: tf.Tensor): Promise<tf.Tensor>;
}

/**
 * Classifies images as ONE model run: images of one size are pre-processed as one stack
 * (row for row what a lone call gives), the stacks are concatenated to [B,H,W,C], the
 * model runs once, its scores are read once and split into B rows, each cut to its
 * caller's top-k. An image that fails pre-processing fails alone; a model that cannot
 * take a batch (its output's first dimension is not B) is run once per image instead.
 *
 * @example
 * await classifyImages(runnable, manifest, [{ pixels, topK: 1 }, { pixels: other, topK: 3 }]);
 * // [{ ok: true, value: [{ label: 'Trouser', index: 1, score: 0.99 }] }, { ok: true, value: [ …3 ] }]
 */
export async function classifyImages(model: BatchRunner, manifest: Manifest, images: readonly BatchImage[]): Promise<Outcome<Prediction[]>[]> {
  const p = manifest.preprocess;
  if (!p) throw new ManifestError(`"${manifest.id}" has no preprocess section`, { url: manifest.id, issues: ['missing preprocess'] });
  const outcomes: Outcome<Prediction[]>[] = new Array(images.length);
  const inputs: tf.Tensor4D[] = [];
  /** For each input tensor, the images it holds (one row each). */
  const rowsOf: number[][] = [];
  try {
    // Images of one size are pre-processed as one stack; an image that fails fails alone.
    const groups = new Map<string, number[]>();
    images.forEach((img, i) => {
      const key = `${img.pixels.width}x${img.pixels.height}x${img.pixels.channels}`;
      const g = groups.get(key);
      if (g) g.push(i);
      else groups.set(key, [i]);
    });
    for (const group of groups.values()) {
      try {
        inputs.push(preprocessStack(group.map((i) => (images[i] as BatchImage).pixels), p));
        rowsOf.push(group);
      } catch (error) {
        if (group.length === 1) outcomes[group[0] as number] = { ok: false, error };
        else
          for (const i of group) {
            try {
              inputs.push(preprocess((images[i] as BatchImage).pixels, p));
              rowsOf.push([i]);
            } catch (e) {
              outcomes[i] = { ok: false, error: e };
            }
          }
      }
    }
    if (inputs.length > 0) {
      const scores = await runBatch(model, inputs);
      const labels = manifest.labels ?? [];
      rowsOf.flat().forEach((i, r) => {
        try {
          outcomes[i] = { ok: true, value: topPredictions(scores[r] as Float32Array, labels, (images[i] as BatchImage).topK, manifest.output) };
        } catch (error) {
          outcomes[i] = { ok: false, error };
        }
      });
    }
    return outcomes;
  } finally {
    inputs.forEach((t) => t.dispose());
  }
}

/** Runs inputs ([n_i, …] each) as one batch of Σn_i and returns one score row per image. */
async function runBatch(model: BatchRunner, inputs: readonly tf.Tensor4D[]): Promise<Float32Array[]> {
  const n = inputs.reduce((sum, t) => sum + (t.shape[0] as number), 0);
  if (inputs.length === 1 && n === 1) return [await scoresOf(model, inputs[0] as tf.Tensor4D)];
  const x = inputs.length === 1 ? (inputs[0] as tf.Tensor4D) : tf.concat(inputs as tf.Tensor4D[], 0);
  let y: tf.Tensor | undefined;
  let failure: unknown;
  try {
    y = await model.run(x);
    if (y.rank >= 1 && y.shape[0] === n) return rows((await y.data()) as Float32Array, n);
  } catch (e) {
    failure = e;
  } finally {
    if (x !== inputs[0]) x.dispose();
    y?.dispose();
  }
  // The model cannot take this batch (a fixed batch of 1, say): one run per image.
  // If a lone image fails too, the batch's error was not about batching: report it.
  const out: Float32Array[] = [];
  for (const input of inputs) {
    for (let r = 0; r < (input.shape[0] as number); r++) {
      const one = tf.slice(input, [r, 0, 0, 0], [1, ...(input.shape.slice(1) as [number, number, number])]);
      try {
        out.push(await scoresOf(model, one));
      } catch (e) {
        throw failure ?? e;
      } finally {
        one.dispose();
      }
    }
  }
  return out;
}

/** Splits n rows of scores. */
function rows(all: Float32Array, n: number): Float32Array[] {
  const width = all.length / n;
  return Array.from({ length: n }, (_, r) => all.subarray(r * width, (r + 1) * width));
}

async function scoresOf(model: BatchRunner, input: tf.Tensor): Promise<Float32Array> {
  const y = await model.run(input);
  try {
    return (await y.data()) as Float32Array;
  } finally {
    y.dispose();
  }
}

/**
 * Classifies one blank RGBA picture of the model's own size and drops the result: tfjs-wasm
 * (XNNPACK) creates and packs each operator on first use, WebGPU compiles its shaders, and the
 * pre-processing kernels and JS paths warm up too — so `load()` pays that, not the first
 * `classify()`.
 *
 * @example
 * const runnable = await createRunnable(files);
 * await warmUpClassifier(runnable, files.manifest); // first classify() ≈ a steady one
 */
export async function warmUpClassifier(model: BatchRunner, manifest: Manifest): Promise<void> {
  const p = manifest.preprocess;
  if (manifest.task !== 'image-classification' || !p) return;
  const pixels: RawPixels = { data: new Uint8ClampedArray(p.width * p.height * 4), width: p.width, height: p.height, channels: 4 };
  const [outcome] = await classifyImages(model, manifest, [{ pixels, topK: 1 }]);
  if (outcome && !outcome.ok) throw outcome.error;
}

/** One classify() call, decoded and waiting for a run. */
interface ClassifyJob extends BatchImage {
  readonly signal: AbortSignal;
}

/** Checks and decodes one call's image (a bad image fails only its own call). */
async function decodeJob(input: ClassifyInput, signal: AbortSignal, manifest: Manifest): Promise<ClassifyJob> {
  const topK = checkTopK(input.topK);
  const pixels = await decodeImage(input.image, manifest.preprocess);
  throwIfAborted(signal, 'classify');
  return { pixels, topK, signal };
}

/** The operations of one loaded classifier: its batch queue, and `classify`. */
function classifierOps(current: () => Runnable, manifest: Manifest, env: TaskEnv) {
  const runJobs = (jobs: readonly ClassifyJob[]): Promise<Outcome<Prediction[]>[]> =>
    env.run(() => {
      const model = current();
      const stats = env.stats;
      stats.batches++;
      stats.images += jobs.length;
      stats.largest = Math.max(stats.largest, jobs.length);
      stats.sizes[jobs.length] = (stats.sizes[jobs.length] ?? 0) + 1;
      return classifyImages(model, manifest, jobs);
    });
  const queue =
    env.maxBatch > 1 ? new BatchQueue<ClassifyJob, Prediction[]>(runJobs, { maxBatch: env.maxBatch, cancelled: (job) => (job.signal.aborted ? abortError(job.signal, 'classify') : undefined) }) : undefined;
  /** Batching off: each call runs at once, on its own. */
  const runAlone = async (job: ClassifyJob): Promise<Prediction[]> => {
    const [outcome] = await runJobs([job]);
    if (!outcome) throw new ManifestError('the model run gave no outcome', { url: manifest.id, issues: ['no outcome'] });
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  };
  return {
    'image-classification.classify': async (calls: readonly OpCall<'image-classification.classify'>[], ctx: { readonly more: boolean }): Promise<Outcome<Prediction[]>[]> => {
      env.stats.messages++;
      const decoded = await Promise.allSettled(calls.map((c) => decodeJob(c.input, c.signal, manifest)));
      const jobs = decoded.flatMap((d) => (d.status === 'fulfilled' ? [d.value] : []));
      const runs = queue ? queue.pushAll(jobs, ctx.more) : jobs.map(runAlone);
      let next = 0;
      return Promise.all(
        decoded.map(async (d, i): Promise<Outcome<Prediction[]>> => {
          try {
            if (d.status === 'rejected') throw d.reason;
            const predictions = await (runs[next++] as Promise<Prediction[]>);
            throwIfAborted((calls[i] as OpCall<'image-classification.classify'>).signal, 'classify');
            return { ok: true, value: predictions };
          } catch (error) {
            return { ok: false, error };
          }
        }),
      );
    },
  };
}

/** A loaded classifier: on tfjs, or compiled for webinfer's engine (small CNNs on WASM). */
interface Classifier extends Runnable {
  readonly facts: ModelFacts;
  /** On the engine: not tied to tfjs's backend (a backend switch neither frees nor rebuilds it). */
  readonly portable: boolean;
  /** Chooses the engine's thread count per batch size by measurement (engine only). */
  tune?(maxBatch: number): void;
}

/**
 * Loads a classifier. A `tfjs-layers` model of the layers the engine runs (Conv2D, MaxPooling2D, Dense, …:
 * see `workers/engine/cnn.ts`), on WASM, channels-last, is compiled for the engine and its tfjs copy freed;
 * anything else runs on tfjs, and `model.info.runtime` says why.
 */
async function loadClassifier(files: LoadedFiles, env: TaskEnv): Promise<Classifier> {
  const base = await createRunnable(files);
  const tfjs = (why: string): Classifier => ({ run: (x) => base.run(x), dispose: () => base.dispose(), facts: { runtime: `tfjs (${tf.getBackend()})${why ? `: ${why}` : ''}` }, portable: false });
  const layers = base.layers;
  if (!layers) return tfjs('');
  if (env.backend() !== 'wasm' || !env.engine) return tfjs('');
  if (files.manifest.preprocess?.layout === 'nchw') return tfjs('channels-first input');
  const compiled = compileCnn(layers);
  if (!compiled.ok) return tfjs(`not for the engine (${compiled.reason})`);
  let cnn: EngineCnn;
  try {
    cnn = EngineCnn.create(await env.engine(), compiled.plan, layers);
  } catch (e) {
    return tfjs(`the engine failed to start (${e instanceof Error ? e.message : String(e)})`);
  }
  base.dispose();
  const { input, outputs } = compiled.plan;
  let facts: ModelFacts = { runtime: 'engine (cnn, float32)', weightBytes: cnn.weightBytes };
  return {
    run: async (x) => {
      const [b, h, w, c] = x.shape as number[];
      if (x.rank !== 4 || h !== input[0] || w !== input[1] || c !== input[2]) {
        throw new ManifestError(`the model takes [batch, ${input.join(', ')}] inputs, not ${JSON.stringify(x.shape)}`, { url: files.manifest.id, issues: ['input shape'] });
      }
      const out = cnn.forward(x.dataSync() as Float32Array, b as number);
      return tf.tensor2d(out, [b as number, outputs]);
    },
    dispose: () => cnn.dispose(),
    get facts() {
      return facts;
    },
    portable: true,
    tune: (maxBatch) => {
      const why = cnn.tuneThreads(maxBatch, 3);
      facts = { ...facts, runtime: `engine (cnn, float32, ${why})` };
    },
  };
}

/**
 * The worker's row for `image-classification`.
 *
 * @example
 * const mounted = await imageClassification.mount(files, env);
 * await mounted.ops['image-classification.classify']?.([{ callId: 1, input: { image, topK: 3 }, signal }], { more: false, sink: undefined });
 * // [{ ok: true, value: [{ label: 'Sneaker', index: 7, score: 0.93 }, …] }]
 */
export const imageClassification = defineTask<'image-classification', Classifier>({
  task: 'image-classification',
  formats: ['tfjs-layers', 'tfjs-graph'],
  load: (files, env) => loadClassifier(files, env),
  warmUp: async (model, files, env) => {
    await warmUpClassifier(model, files.manifest);
    model.tune?.(env.maxBatch);
  },
  dispose: (model) => model.dispose(),
  portable: (model) => model.portable,
  describe: (model) => model.facts,
  ops: (current, files, env) => classifierOps(current, files.manifest, env),
});
