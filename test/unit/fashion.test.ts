/**
 * models/fashion-mnist-cnn: the exported TensorFlow.js layers model reproduces PyTorch's
 * probabilities on the committed parity fixture (500 test images), which makes that fixture
 * the ground truth of the browser tests; and the card records what it claims.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { layersModelHandler } from './helpers/layers-model.js';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../models/fashion-mnist-cnn');
const read = (f: string): Buffer => readFileSync(path.join(dir, f));

const handler = (): tf.io.IOHandler => layersModelHandler(dir);

const expected = JSON.parse(read('parity/expected.json').toString('utf8')) as { count: number; labels: number[]; predictions: number[]; probabilities: number[][]; accuracy: number };
const images = gunzipSync(read('parity/images.u8.gz'));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('models/fashion-mnist-cnn', () => {
  it('has exactly the seeds architecture', async () => {
    const model = await tf.loadLayersModel(handler());
    expect(model.layers.map((l) => l.getClassName())).toEqual(['Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Conv2D', 'Flatten', 'Dense', 'Dense']);
    expect(model.layers.map((l) => l.outputShape)).toEqual([
      [null, 26, 26, 32], [null, 13, 13, 32], [null, 11, 11, 64], [null, 5, 5, 64], [null, 3, 3, 64], [null, 576], [null, 64], [null, 10],
    ]);
    expect(model.countParams()).toBe(93322);
    model.dispose();
  });

  it('tfjs reproduces PyTorch on the 500 fixture images: same top-1 everywhere, probabilities within 1e-4', async () => {
    const model = await tf.loadLayersModel(handler());
    const x = tf.tidy(() => tf.tensor4d(new Uint8Array(images), [expected.count, 28, 28, 1], 'int32').toFloat().div(255));
    const y = model.predict(x) as tf.Tensor2D;
    const probs = (await y.array()) as number[][];
    tf.dispose([x, y]);
    model.dispose();
    let maxDiff = 0;
    probs.forEach((row, i) => row.forEach((p, c) => (maxDiff = Math.max(maxDiff, Math.abs(p - expected.probabilities[i]![c]!)))));
    expect(maxDiff).toBeLessThan(1e-4);
    const top1 = probs.map((row) => row.indexOf(Math.max(...row)));
    expect(top1).toEqual(expected.predictions);
    const acc = top1.filter((p, i) => p === expected.labels[i]).length / expected.count;
    expect(acc).toBe(expected.accuracy);
  });

  it('the card and training record state the full test-set accuracy (≥ 91 %)', () => {
    const training = JSON.parse(read('training.json').toString('utf8'));
    expect(training.testImages).toBe(10000);
    expect(training.testAccuracy).toBeGreaterThanOrEqual(0.91);
    const card = JSON.parse(read('card.json').toString('utf8'));
    expect(card.metrics['accuracy.pytorch']).toBe(training.testAccuracy);
  });
});
