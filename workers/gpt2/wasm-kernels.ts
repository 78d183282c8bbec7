/**
 * Layer normalisation over the last axis, and GPT-2's GELU, each as ONE kernel on the WASM backend.
 *
 * Composed from tfjs ops, a layer norm is 9 kernels (moments = 3, then sub, add, rsqrt, mul, mul,
 * add); at decode time (one token, 256 values) each costs far more in dispatch than in arithmetic,
 * and GPT-2 runs 2 per layer + 1. Here the WASM backend gets a JS kernel that reads and writes the
 * WASM heap directly (mean and variance in float64, one pass to write the output). Other backends
 * (WebGPU, CPU) use the composed ops.
 */
import * as tf from '@tensorflow/tfjs-core';

const KERNEL = 'WebInferLayerNorm';

interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

function layerNormWasm({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { x, gamma, beta } = inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
  const eps = (attrs as { epsilon: number }).epsilon;
  const b = backend as WasmHeapBackend;
  const out = b.makeOutput([...x.shape], 'float32');
  // Views after the allocation: growing the heap would detach earlier ones.
  const xs = b.typedArrayFromHeap(x);
  const g = b.typedArrayFromHeap(gamma);
  const be = b.typedArrayFromHeap(beta);
  const o = b.typedArrayFromHeap(out);
  const C = x.shape[x.shape.length - 1] as number;
  for (let base = 0; base < xs.length; base += C) {
    let mean = 0;
    for (let j = 0; j < C; j++) mean += xs[base + j] as number;
    mean /= C;
    let v = 0;
    for (let j = 0; j < C; j++) {
      const d = (xs[base + j] as number) - mean;
      v += d * d;
    }
    const inv = 1 / Math.sqrt(v / C + eps);
    for (let j = 0; j < C; j++) o[base + j] = ((xs[base + j] as number) - mean) * inv * (g[j] as number) + (be[j] as number);
  }
  return out;
}

tf.registerKernel({ kernelName: KERNEL, backendName: 'wasm', kernelFunc: layerNormWasm as unknown as tf.KernelFunc });

const GELU = 'WebInferGeluTanh';
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

function geluWasm({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo };
  const b = backend as WasmHeapBackend;
  const out = b.makeOutput([...x.shape], 'float32');
  const xs = b.typedArrayFromHeap(x);
  const o = b.typedArrayFromHeap(out);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i] as number;
    o[i] = 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)));
  }
  return out;
}

tf.registerKernel({ kernelName: GELU, backendName: 'wasm', kernelFunc: geluWasm as unknown as tf.KernelFunc });

/**
 * GPT-2's tanh-approximated GELU ("gelu_new"), one kernel on WASM (8 composed ops elsewhere).
 *
 * @example
 * geluTanh(tf.tensor1d([0, 1])); // ≈ [0, 0.8412]
 */
export function geluTanh<T extends tf.Tensor>(x: T): T {
  if (tf.getBackend() === 'wasm') return tf.engine().runKernel(GELU, { x }) as T;
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1)) as T;
}

/**
 * `(x - mean) / sqrt(var + eps) * g + b` over the last axis of `x` ([T, C]).
 *
 * @example
 * layerNorm(tf.tensor2d([[1, 2, 3]]), tf.ones([3]), tf.zeros([3]), 1e-5); // ≈ [[-1.2247, 0, 1.2247]]
 */
export function layerNorm(x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D, eps: number): tf.Tensor2D {
  if (tf.getBackend() === 'wasm') return tf.engine().runKernel(KERNEL, { x, gamma: g, beta: b }, { epsilon: eps }) as tf.Tensor2D;
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), g), b);
}
