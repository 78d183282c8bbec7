/**
 * Small CNNs on the engine (workers/engine/cnn.ts, JOB_CNN): the Fashion CNN reproduces PyTorch's probabilities on
 * the 500 parity images (as tfjs does), and models with the other supported layers (same padding, strides, 1×1
 * convolutions, ReLU layers, relu6, dropout, a softmax Activation) give tfjs's outputs, with one thread and two,
 * at batch 1 and batched. What the engine does not run is refused with a reason.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileCnn, EngineCnn } from '../../../workers/engine/cnn.js';
import { Engine } from '../../../workers/engine/engine.js';
import { engineSources, nodeThreads } from './helpers.js';
import { layersModelHandler } from '../helpers/layers-model.js';

const dir = path.resolve(import.meta.dirname, '../../../models/fashion-mnist-cnn');
const read = (f: string): Buffer => readFileSync(path.join(dir, f));
const expected = JSON.parse(read('parity/expected.json').toString('utf8')) as { count: number; predictions: number[]; probabilities: number[][] };
const images = gunzipSync(read('parity/images.u8.gz'));

const fashionHandler = (): tf.io.IOHandler => layersModelHandler(dir);

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};

let engine: Engine;
beforeAll(async () => {
  await tf.setBackend('cpu');
  engine = await Engine.start({ sources: engineSources(), threads: 2, relaxed: false, spawn: nodeThreads });
});
afterAll(() => engine?.dispose());

describe('the Fashion CNN on the engine', () => {
  it('compiles to conv, pool, conv, pool, conv, dense, dense, softmax', async () => {
    const model = await tf.loadLayersModel(fashionHandler());
    const r = compileCnn(model);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.plan.layers.map((l) => l.op)).toEqual(['conv', 'maxpool', 'conv', 'maxpool', 'conv', 'dense', 'dense', 'softmax']);
      expect(r.plan.input).toEqual([28, 28, 1]);
      expect(r.plan.outputs).toBe(10);
    }
    model.dispose();
  });

  it('reproduces PyTorch on the 500 parity images (max |Δp| < 1e-4, same top-1), batched and alone, 1 and 2 threads', async () => {
    const model = await tf.loadLayersModel(fashionHandler());
    const r = compileCnn(model);
    if (!r.ok) throw new Error(r.reason);
    const cnn = EngineCnn.create(engine, r.plan, model);
    model.dispose();
    const x = Float32Array.from(images, (v) => v / 255);
    const want = expected.probabilities.flat();
    for (const threads of [1, 2]) {
      const all = cnn.forward(x, expected.count, threads);
      expect(maxAbsDiff(all, want)).toBeLessThan(1e-4);
      const top1 = Array.from({ length: expected.count }, (_, i) => {
        const row = all.subarray(i * 10, i * 10 + 10);
        return row.indexOf(Math.max(...row));
      });
      expect(top1).toEqual(expected.predictions);
    }
    // A lone image gives the very bits it gets inside a batch (micro-batching must not change results).
    const batched = cnn.forward(x, expected.count, 2);
    for (const i of [0, 1, 2, 3, 499]) {
      const one = cnn.forward(x.subarray(i * 784, (i + 1) * 784), 1, 1);
      expect(maxAbsDiff(one, expected.probabilities[i]!)).toBeLessThan(1e-4);
      expect(Array.from(one)).toEqual(Array.from(batched.subarray(i * 10, i * 10 + 10)));
    }
    const reason = cnn.tuneThreads(8, 2);
    expect(reason).toMatch(/thread/);
    expect([1, 2]).toContain(cnn.threadsFor(1));
    expect(cnn.weightBytes).toBeGreaterThanOrEqual(93322 * 4);
    cnn.dispose();
    expect(() => cnn.forward(x.subarray(0, 784), 1)).toThrow(/disposed/);
  });
});

describe('other layers, against tfjs', () => {
  const seeded = (n: number, seed: number): Float32Array => {
    let s = seed >>> 0;
    return Float32Array.from({ length: n }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32 - 0.5;
    });
  };
  /** Gives every weight of `model` seeded values (so that relu and relu6 both clip somewhere). */
  const reseed = (model: tf.LayersModel): void => {
    let k = 1;
    for (const l of model.layers) l.setWeights(l.getWeights().map((w) => tf.tensor(seeded(w.size, k++).map((v) => v * 2), w.shape)));
  };

  it('same padding, stride 2, 1×1 convs, ReLU layers, relu6, dropout, softmax Activation, odd sizes', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [13, 11, 3], filters: 12, kernelSize: 3, padding: 'same', activation: 'relu' }),
        tf.layers.conv2d({ filters: 9, kernelSize: [3, 2], strides: 2, padding: 'same' }),
        tf.layers.reLU({ maxValue: 6 }),
        tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
        tf.layers.conv2d({ filters: 16, kernelSize: 1, activation: 'relu6' }),
        tf.layers.conv2d({ filters: 5, kernelSize: 2, strides: [1, 2], padding: 'valid', useBias: false }),
        tf.layers.reLU(),
        tf.layers.flatten(),
        tf.layers.dropout({ rate: 0.5 }),
        tf.layers.dense({ units: 7 }),
        tf.layers.activation({ activation: 'softmax' }),
      ],
    });
    reseed(model);
    const r = compileCnn(model);
    if (!r.ok) throw new Error(r.reason);
    const cnn = EngineCnn.create(engine, r.plan, model);
    for (const b of [1, 3]) {
      const x = seeded(b * 13 * 11 * 3, 99 + b).map((v) => v * 4);
      const y = model.predict(tf.tensor4d(x, [b, 13, 11, 3])) as tf.Tensor;
      const want = y.dataSync();
      y.dispose();
      for (const threads of [1, 2]) expect(maxAbsDiff(cnn.forward(x, b, threads), want)).toBeLessThan(1e-5);
    }
    cnn.dispose();
    model.dispose();
  });

  it('a model ending in logits (no softmax) returns them; buffers grow with the batch', async () => {
    const model = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3 }), tf.layers.flatten(), tf.layers.dense({ units: 3 })] });
    reseed(model);
    const r = compileCnn(model);
    if (!r.ok) throw new Error(r.reason);
    const cnn = EngineCnn.create(engine, r.plan, model);
    for (const b of [1, 5, 2]) {
      const x = seeded(b * 64, b);
      const y = model.predict(tf.tensor4d(x, [b, 8, 8, 1])) as tf.Tensor;
      expect(maxAbsDiff(cnn.forward(x, b), y.dataSync())).toBeLessThan(1e-5);
      y.dispose();
    }
    expect(() => cnn.forward(new Float32Array(10), 1)).toThrow(RangeError);
    cnn.dispose();
    model.dispose();
  });

  it('what the engine does not run is refused with the reason', () => {
    const bn = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3 }), tf.layers.batchNormalization(), tf.layers.flatten(), tf.layers.dense({ units: 2 })] });
    expect(compileCnn(bn)).toEqual({ ok: false, reason: 'layer 1 (BatchNormalization) is not supported' });
    const tanh = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, activation: 'tanh' })] });
    expect(compileCnn(tanh)).toMatchObject({ ok: false, reason: expect.stringMatching(/activation "tanh"/) });
    const dil = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, dilationRate: 2 })] });
    expect(compileCnn(dil)).toMatchObject({ ok: false, reason: expect.stringMatching(/dilation/) });
    const input = tf.input({ shape: [4, 4, 1] });
    const a = tf.layers.conv2d({ filters: 2, kernelSize: 1 }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.conv2d({ filters: 2, kernelSize: 1 }).apply(input) as tf.SymbolicTensor;
    const branchy = tf.model({ inputs: input, outputs: tf.layers.add().apply([a, b]) as tf.SymbolicTensor });
    expect(compileCnn(branchy).ok).toBe(false);
    [bn, tanh, dil, branchy].forEach((m) => m.dispose());
  });
});
