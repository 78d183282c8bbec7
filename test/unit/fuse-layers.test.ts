/**
 * Op fusion of layers models (workers/fuse-layers.ts), on tfjs's CPU backend in Node: a
 * MobileNet-style block gives the same outputs with fewer kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { fuseConvActivations } from '../../workers/fuse-layers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function block(): tfl.LayersModel {
  const input = tfl.input({ shape: [9, 9, 4] });
  const init = (seed: number) => tfl.initializers.randomNormal({ mean: 0, stddev: 0.5, seed });
  let x = tfl.layers.conv2d({ filters: 8, kernelSize: 1, activation: 'relu6', kernelInitializer: init(1), biasInitializer: init(2) }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', activation: 'relu6', depthwiseInitializer: init(3), biasInitializer: init(4) }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'valid', useBias: false, activation: 'sigmoid', depthwiseInitializer: init(5) }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', dilationRate: 1, activation: 'linear', kernelInitializer: init(6), biasInitializer: init(7) }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.conv2d({ filters: 3, kernelSize: 1, activation: 'tanh', kernelInitializer: init(8) }).apply(x) as tfl.SymbolicTensor; // tanh: not fusable, left alone
  return tfl.model({ inputs: input, outputs: x });
}

async function kernelsOf(model: tfl.LayersModel, x: tf.Tensor): Promise<string[]> {
  const info = await tf.profile(() => {
    const y = model.predict(x) as tf.Tensor;
    y.dispose();
  });
  return info.kernels.map((k) => k.name);
}

describe('fuseConvActivations', () => {
  it('rewrites the fusable conv layers: same outputs, one kernel per conv, no leaked tensors', async () => {
    const model = block();
    const x = tf.randomNormal([2, 9, 9, 4], 0, 1, 'float32', 9);
    const before = model.predict(x) as tf.Tensor;
    const beforeKernels = await kernelsOf(model, x);
    expect(beforeKernels).toContain('DepthwiseConv2dNative');
    expect(beforeKernels).toContain('Minimum'); // tfjs-layers' relu6 = Relu + Minimum, after a separate bias Add

    expect(fuseConvActivations(model)).toBe(4);
    const after = model.predict(x) as tf.Tensor;
    const afterKernels = await kernelsOf(model, x);
    expect(after.shape).toEqual(before.shape);
    const diff = tf.max(tf.abs(tf.sub(after, before))).dataSync()[0] as number;
    expect(diff).toBeLessThan(1e-5);
    expect(afterKernels.filter((k) => k === 'FusedDepthwiseConv2D')).toHaveLength(2);
    expect(afterKernels.filter((k) => k === 'FusedConv2D')).toHaveLength(3); // + the tanh layer's own conv+bias
    expect(afterKernels).not.toContain('Minimum');
    expect(afterKernels).not.toContain('DepthwiseConv2dNative');
    expect(afterKernels).toContain('Tanh'); // the unfusable activation still runs on its own
    expect(afterKernels.length).toBeLessThan(beforeKernels.length);

    const n = tf.memory().numTensors;
    (model.predict(x) as tf.Tensor).dispose();
    expect(tf.memory().numTensors).toBe(n);
    [x, before, after].forEach((t) => t.dispose());
  });
});
