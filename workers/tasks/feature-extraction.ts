/**
 * Task `feature-extraction` (formats `tfjs-layers`, `tfjs-graph`): one operation, `embed`, micro-batched.
 * Images are pre-processed as `image-classification` does it (the manifest's `preprocess`), a batch runs
 * as one model run, and the model's output row of each image is its embedding (the published model ends
 * at the layer the card names as `outputLayer`), optionally scaled to unit L2 norm.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ManifestError } from '../../src/shared/errors/manifest.js';
import type { RawPixels } from '../../src/shared/image-limits.js';
import type { ImagePreprocess, Manifest } from '../../src/shared/registry/schema.js';
import type { Outcome } from '../../src/shared/settle.js';
import { decodeImage } from '../decode.js';
import { createRunnable, type Runnable } from '../runnable.js';
import { batchedOp, type Job } from './batched-op.js';
import { preprocessStack } from './image-classification.js';
import { defineTask, type TaskEnv } from './task.js';

function preprocessOf(manifest: Manifest): ImagePreprocess {
  if (!manifest.preprocess) throw new ManifestError(`"${manifest.id}" has no preprocess section`, { url: manifest.id, issues: ['missing preprocess'] });
  return manifest.preprocess;
}

/** One image of a batch, decoded, and whether its row is L2-normalised. */
interface Decoded {
  readonly pixels: RawPixels;
  readonly normalize: boolean;
}

/** Scales a row to unit L2 norm in place (a zero row stays zero). */
export function l2Normalize(row: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += (row[i] as number) * (row[i] as number);
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < row.length; i++) row[i] = (row[i] as number) / norm;
  return row;
}

/**
 * Embeds images as one model run per image size: one Float32Array row per image, in order.
 *
 * @example
 * await embedImages(runnable, manifest, [{ pixels, normalize: true }]);
 * // [{ ok: true, value: Float32Array(64) [ … ] }]
 */
export async function embedImages(model: Runnable, manifest: Manifest, images: readonly Decoded[]): Promise<Outcome<Float32Array>[]> {
  const p = preprocessOf(manifest);
  const outcomes: Outcome<Float32Array>[] = new Array(images.length);
  const groups = new Map<string, number[]>();
  images.forEach((img, i) => {
    const key = `${img.pixels.width}x${img.pixels.height}x${img.pixels.channels}`;
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  for (const group of groups.values()) {
    let x: tf.Tensor4D | undefined;
    let y: tf.Tensor | undefined;
    try {
      x = preprocessStack(group.map((i) => (images[i] as Decoded).pixels), p);
      y = await model.run(x);
      if (y.rank !== 2 || y.shape[0] !== group.length) {
        throw new ManifestError(`the model's output has shape [${y.shape.join(', ')}]; an embedding model outputs [batch, dimensions]`, { url: manifest.id, issues: ['output is not [batch, dimensions]'] });
      }
      const all = (await y.data()) as Float32Array;
      const width = y.shape[1] as number;
      group.forEach((i, r) => {
        const row = all.slice(r * width, (r + 1) * width);
        outcomes[i] = { ok: true, value: (images[i] as Decoded).normalize ? l2Normalize(row) : row };
      });
    } catch (error) {
      for (const i of group) outcomes[i] = { ok: false, error };
    } finally {
      x?.dispose();
      y?.dispose();
    }
  }
  return outcomes;
}

function embedderOps(current: () => Runnable, manifest: Manifest, env: TaskEnv) {
  const p = preprocessOf(manifest);
  return {
    'feature-extraction.embed': batchedOp<'feature-extraction.embed', Decoded, Float32Array>(
      env,
      'embed',
      async (input) => ({ pixels: await decodeImage(input.image, p), normalize: input.normalize }),
      (jobs: readonly Job<Decoded>[]) => embedImages(current(), manifest, jobs.map((j) => j.prepared)),
    ),
  };
}

/**
 * The worker's row for `feature-extraction`.
 *
 * @example
 * const mounted = await featureExtraction.mount(files, env);
 * await mounted.ops['feature-extraction.embed']?.([{ callId: 1, input: { image, normalize: true }, signal }], { more: false, sink: undefined });
 * // [{ ok: true, value: Float32Array(64) […] }]
 */
export const featureExtraction = defineTask<'feature-extraction', Runnable>({
  task: 'feature-extraction',
  formats: ['tfjs-layers', 'tfjs-graph'],
  load: (files) => createRunnable(files),
  warmUp: async (model, files) => {
    const p = preprocessOf(files.manifest);
    const pixels: RawPixels = { data: new Uint8ClampedArray(p.width * p.height * 4), width: p.width, height: p.height, channels: 4 };
    const [outcome] = await embedImages(model, files.manifest, [{ pixels, normalize: false }]);
    if (outcome && !outcome.ok) throw outcome.error;
  },
  dispose: (model) => model.dispose(),
  describe: () => ({ runtime: `tfjs (${tf.getBackend()})` }),
  ops: (current, files, env) => embedderOps(current, files.manifest, env),
});
