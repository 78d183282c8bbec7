/**
 * Plain tfjs classification, written the way an app does it: load the layers model, then per
 * call build the input from the pixels with the same pre-processing as the model card (channels,
 * scale, mean/std), predict, read the scores back. Used on the page's main thread and inside the
 * hand-written baseline worker.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';

export interface PixelsIn {
  readonly data: Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 4;
}

export interface PreSpec {
  readonly modelChannels: 1 | 3;
  readonly scale: number;
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

export async function loadTfjs(url: string): Promise<LayersModel> {
  const model = await loadLayersModel(url);
  return model;
}

/** One classification: pixels → scores (Float32Array). */
export async function classifyTfjs(model: LayersModel, px: PixelsIn, pre: PreSpec): Promise<Float32Array> {
  const y = tf.tidy(() => {
    let x: tf.Tensor3D = tf.tensor3d(Int32Array.from(px.data), [px.height, px.width, px.channels], 'int32');
    if (px.channels === 4 && pre.modelChannels === 3) x = tf.slice(x, [0, 0, 0], [px.height, px.width, 3]);
    let f: tf.Tensor = tf.mul(tf.cast(x, 'float32'), pre.scale);
    if (pre.mean.some((m) => m !== 0)) f = tf.sub(f, pre.mean.length === 1 ? (pre.mean[0] as number) : tf.tensor1d([...pre.mean]));
    if (pre.std.some((s) => s !== 1)) f = tf.div(f, pre.std.length === 1 ? (pre.std[0] as number) : tf.tensor1d([...pre.std]));
    return model.predict(tf.expandDims(f, 0)) as tf.Tensor;
  });
  const out = (await y.data()) as Float32Array;
  y.dispose();
  return out;
}
