/**
 * models/fashion-embed: the truncated Fashion CNN (tfjs CPU in Node) gives PyTorch's penultimate (Dense-64, ReLU)
 * activations on the parity fixture, and holds exactly the classifier's weights minus its last layer.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { layersModelHandler } from './helpers/layers-model.js';
import { l2Normalize } from '../../workers/tasks/feature-extraction.js';

const models = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../models');
const read = (d: string, f: string): Buffer => readFileSync(path.join(models, d, f));
const parity = JSON.parse(read('fashion-embed', 'parity.json').toString('utf8')) as { count: number; embeddings: number[][] };
const images = gunzipSync(read('fashion-mnist-cnn', 'parity/images.u8.gz'));


beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('models/fashion-embed', () => {
  it('is the classifier up to dense_1: same layers but the last, the same weight bytes', async () => {
    const model = await tf.loadLayersModel(layersModelHandler(path.join(models, 'fashion-embed')));
    expect(model.layers.map((l) => l.name)).toEqual(['conv2d_1', 'max_pooling2d_1', 'conv2d_2', 'max_pooling2d_2', 'conv2d_3', 'flatten_1', 'dense_1']);
    expect(model.outputs[0]!.shape).toEqual([null, 64]);
    model.dispose();
    const full = read('fashion-mnist-cnn', 'group1-shard1of1.bin');
    const cut = read('fashion-embed', 'group1-shard1of1.bin');
    expect(full.subarray(0, cut.length).equals(cut)).toBe(true);
    expect(full.length - cut.length).toBe((64 * 10 + 10) * 4);
  });

  it('tfjs reproduces PyTorch penultimate activations on 100 fixture images within 1e-4', async () => {
    const model = await tf.loadLayersModel(layersModelHandler(path.join(models, 'fashion-embed')));
    const x = tf.tidy(() => tf.tensor4d(new Uint8Array(images.subarray(0, parity.count * 784)), [parity.count, 28, 28, 1], 'int32').toFloat().div(255));
    const y = model.predict(x) as tf.Tensor2D;
    const rows = (await y.array()) as number[][];
    tf.dispose([x, y]);
    model.dispose();
    let maxDiff = 0;
    rows.forEach((row, i) => row.forEach((e, c) => (maxDiff = Math.max(maxDiff, Math.abs(e - parity.embeddings[i]![c]!)))));
    expect(maxDiff).toBeLessThan(1e-4);
    expect(rows.every((r) => r.every((e) => e >= 0))).toBe(true); // ReLU
  });

  it('l2Normalize gives unit rows and leaves a zero row zero', () => {
    const r = l2Normalize(new Float32Array([3, 4]));
    expect(Array.from(r)).toEqual([0.6000000238418579, 0.800000011920929]);
    expect(Array.from(l2Normalize(new Float32Array(3)))).toEqual([0, 0, 0]);
  });
});
