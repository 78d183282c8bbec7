/**
 * Task `image-classification`: pre-processing from the manifest, and scores → top-k.
 * Pre-processing runs as tfjs ops on the active backend, in this order (the same
 * as the training pipeline described in the manifest):
 * RGBA/RGB/gray → target channels → resize → `x * scale` → `(x - mean) / std` → layout → batch of 1.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ManifestError } from '../../src/errors/manifest.js';
import type { RawPixels } from '../../src/image/limits.js';
import type { ImagePreprocess, Manifest } from '../../src/registry/schema.js';
import type { Outcome } from '../../src/batching/coalesce.js';
import type { Prediction } from '../protocol.js';

/** Builds the model's input tensor (shape [1, H, W, C] or [1, C, H, W]). The caller disposes it. */
export function preprocess(pixels: RawPixels, p: ImagePreprocess): tf.Tensor4D {
  return tf.tidy(() => {
    const { width, height, channels } = pixels;
    const data = pixels.data instanceof Float32Array ? pixels.data : Float32Array.from(pixels.data);
    let x: tf.Tensor3D = tf.tensor3d(data, [height, width, channels], 'float32');
    // Channels.
    if (p.channels === 1) {
      if (channels >= 3) {
        const [wr, wg, wb] = p.grayWeights;
        const rgb = channels === 4 ? tf.slice(x, [0, 0, 0], [height, width, 3]) : x;
        x = tf.sum(tf.mul(rgb, tf.tensor1d([wr, wg, wb])), 2, true) as tf.Tensor3D;
      }
    } else if (channels === 1) {
      x = tf.tile(x, [1, 1, 3]);
    } else if (channels === 4) {
      x = tf.slice(x, [0, 0, 0], [height, width, 3]);
    }
    // Size.
    if (height !== p.height || width !== p.width) {
      x = p.resize === 'nearest' ? tf.image.resizeNearestNeighbor(x, [p.height, p.width]) : tf.image.resizeBilinear(x, [p.height, p.width]);
    }
    // Values.
    let y: tf.Tensor3D = tf.mul(x, p.scale);
    const mean = p.mean.length === 1 ? (p.mean[0] as number) : tf.tensor1d(p.mean);
    const std = p.std.length === 1 ? (p.std[0] as number) : tf.tensor1d(p.std);
    if (!(typeof mean === 'number' && mean === 0)) y = tf.sub(y, mean);
    if (!(typeof std === 'number' && std === 1)) y = tf.div(y, std);
    // Layout.
    if (p.layout === 'nchw') y = tf.transpose(y, [2, 0, 1]);
    return tf.expandDims(y, 0) as tf.Tensor4D;
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
 * Classifies images as ONE model run: each image is pre-processed exactly as a lone
 * call's ([1,H,W,C]), the inputs are concatenated to [B,H,W,C], the model runs once,
 * its scores are read once and split into B rows, each cut to its caller's top-k.
 * An image that fails pre-processing fails alone; a model that cannot take a batch
 * (its output's first dimension is not B) is run once per image instead.
 * `beforeRun` is called between pre-processing and the run (a test hook).
 *
 * @example
 * await classifyImages(runnable, manifest, [{ pixels, topK: 1 }, { pixels: other, topK: 3 }]);
 * // [{ ok: true, value: [{ label: 'Trouser', index: 1, score: 0.99 }] }, { ok: true, value: [ …3 ] }]
 */
export async function classifyImages(model: BatchRunner, manifest: Manifest, images: readonly BatchImage[], beforeRun?: () => void): Promise<Outcome<Prediction[]>[]> {
  const p = manifest.preprocess;
  if (!p) throw new ManifestError(`"${manifest.id}" has no preprocess section`, { url: manifest.id, issues: ['missing preprocess'] });
  const outcomes: Outcome<Prediction[]>[] = new Array(images.length);
  const inputs: tf.Tensor4D[] = [];
  const rows: number[] = [];
  try {
    images.forEach((img, i) => {
      try {
        inputs.push(preprocess(img.pixels, p));
        rows.push(i);
      } catch (error) {
        outcomes[i] = { ok: false, error };
      }
    });
    if (inputs.length > 0) {
      beforeRun?.();
      const scores = await runBatch(model, inputs);
      const labels = manifest.labels ?? [];
      rows.forEach((i, r) => {
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

/** Runs [1,…] inputs as one batch and returns one score row per input. */
async function runBatch(model: BatchRunner, inputs: readonly tf.Tensor4D[]): Promise<Float32Array[]> {
  const n = inputs.length;
  if (n === 1) return [await scoresOf(model, inputs[0] as tf.Tensor4D)];
  const x = tf.concat(inputs as tf.Tensor4D[], 0);
  let y: tf.Tensor | undefined;
  let failure: unknown;
  try {
    y = await model.run(x);
    if (y.rank >= 1 && y.shape[0] === n) {
      const all = (await y.data()) as Float32Array;
      const width = all.length / n;
      return Array.from({ length: n }, (_, r) => all.subarray(r * width, (r + 1) * width));
    }
  } catch (e) {
    failure = e;
  } finally {
    x.dispose();
    y?.dispose();
  }
  // The model cannot take this batch (a fixed batch of 1, say): one run per image.
  // If a lone image fails too, the batch's error was not about batching: report it.
  const out: Float32Array[] = [];
  for (const input of inputs) {
    try {
      out.push(await scoresOf(model, input));
    } catch (e) {
      throw failure ?? e;
    }
  }
  return out;
}

async function scoresOf(model: BatchRunner, input: tf.Tensor): Promise<Float32Array> {
  const y = await model.run(input);
  try {
    return (await y.data()) as Float32Array;
  } finally {
    y.dispose();
  }
}
