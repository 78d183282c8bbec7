/**
 * Op fusion for tfjs layers models, applied once after loading. tfjs-layers fuses a Conv2D's bias
 * and activation into one kernel only for relu/linear/elu, and never for DepthwiseConv2D: a
 * MobileNet-style block then runs conv → bias add → relu6 as three kernels, two of them full passes
 * over large activations. Here each Conv2D / DepthwiseConv2D layer (2-D, channels-last, bias or not,
 * activation linear/relu/relu6/elu/sigmoid) gets a `call` that runs `tf.fused.conv2d` /
 * `tf.fused.depthwiseConv2d` with the bias and activation inside the one kernel (XNNPACK on WASM).
 * Weights and outputs are unchanged; only the number of kernels per inference drops.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

type Fusable = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid';
const FUSABLE = new Set<string>(['linear', 'relu', 'relu6', 'elu', 'sigmoid']);

/** The fields of tfjs-layers' Conv2D / DepthwiseConv2D this needs (they are public properties there). */
interface ConvLike {
  getClassName(): string;
  call: (inputs: tf.Tensor | tf.Tensor[], kwargs: unknown) => tf.Tensor | tf.Tensor[];
  readonly rank?: number;
  readonly dataFormat: string;
  readonly strides: [number, number];
  readonly padding: string;
  readonly dilationRate: [number, number] | number;
  readonly activation: { getClassName(): string } | null;
  readonly kernel?: { read(): tf.Tensor };
  readonly depthwiseKernel?: { read(): tf.Tensor };
  readonly bias: { read(): tf.Tensor } | null;
}

/**
 * Rewrites the fusable conv layers of `model` in place; returns how many were rewritten.
 *
 * @example
 * const model = await tf.loadLayersModel(handler);
 * fuseConvActivations(model); // e.g. 52 for a MobileNetV2
 */
export function fuseConvActivations(model: LayersModel): number {
  let n = 0;
  for (const layer of model.layers as unknown as ConvLike[]) {
    const cls = layer.getClassName();
    const depthwise = cls === 'DepthwiseConv2D';
    if (!(depthwise || (cls === 'Conv2D' && layer.rank === 2))) continue;
    if (layer.dataFormat !== 'channelsLast' || (layer.padding !== 'same' && layer.padding !== 'valid')) continue;
    const act = layer.activation ? layer.activation.getClassName() : 'linear';
    if (!FUSABLE.has(act)) continue;
    const kernel = depthwise ? layer.depthwiseKernel : layer.kernel;
    if (!kernel) continue;
    const dil = layer.dilationRate;
    // tfjs-layers ignores DepthwiseConv2D's dilation (it passes none); keep its behaviour exactly.
    const dilations: [number, number] = depthwise ? [1, 1] : typeof dil === 'number' ? [dil, dil] : dil;
    const pad = layer.padding as 'same' | 'valid';
    const activation = act as Fusable;
    const { strides, bias } = layer;
    layer.call = (inputs) =>
      tf.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
        const filter = kernel.read() as tf.Tensor4D;
        const b = bias ? bias.read() : undefined;
        return depthwise
          ? tf.fused.depthwiseConv2d({ x, filter, strides, pad, dataFormat: 'NHWC', dilations, bias: b, activation })
          : tf.fused.conv2d({ x, filter, strides, pad, dataFormat: 'NHWC', dilations, bias: b, activation });
      });
    n++;
  }
  return n;
}
