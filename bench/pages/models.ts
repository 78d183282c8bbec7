/** The image models the classify workloads compare, with everything each runner needs. */
export interface BenchImageModel {
  readonly key: 'fashion' | 'mobilenetv2';
  /** Registry reference for webinfer. */
  readonly ref: string;
  /** Plain tfjs layers model (same weights). */
  readonly tfjsPath: string;
  /** ONNX file (same weights), NCHW input. */
  readonly onnxPath: string;
  readonly size: number;
  /** Channels of the pixels every runner receives (1 = gray bytes, 4 = RGBA like ImageData). */
  readonly pixelChannels: 1 | 4;
  /** Channels the model takes. */
  readonly modelChannels: 1 | 3;
  readonly scale: number;
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** Multiply-adds of one inference (effective GFLOP/s = 2·macs / time). */
  readonly macs: number;
  readonly output: 'probabilities' | 'logits';
}

export const FASHION: BenchImageModel = {
  key: 'fashion',
  ref: 'fashion-mnist-cnn',
  tfjsPath: '/models/fashion-mnist-cnn/model.json',
  onnxPath: '/models/fashion-mnist-cnn/model.onnx',
  size: 28,
  pixelChannels: 1,
  modelChannels: 1,
  scale: 1 / 255,
  mean: [0],
  std: [1],
  // conv 3×3×1×32 @26², conv 3×3×32×64 @11², conv 3×3×64×64 @3², dense 576×64, dense 64×10
  macs: 26 * 26 * 9 * 32 + 11 * 11 * 9 * 32 * 64 + 3 * 3 * 9 * 64 * 64 + 576 * 64 + 64 * 10,
  output: 'probabilities',
};

export const MOBILENET: BenchImageModel = {
  key: 'mobilenetv2',
  ref: 'mobilenetv2-bench',
  tfjsPath: '/fixtures/mobilenetv2/tfjs/model.json',
  onnxPath: '/fixtures/mobilenetv2/model.onnx',
  size: 224,
  pixelChannels: 4,
  modelChannels: 3,
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  macs: 300_774_272,
  output: 'logits',
};

/** Deterministic test pixels (a smooth pattern plus texture), `seed` varies the picture. */
export function testPixels(m: BenchImageModel, seed: number): { data: Uint8ClampedArray; width: number; height: number; channels: 1 | 4 } {
  const n = m.size;
  const c = m.pixelChannels;
  const data = new Uint8ClampedArray(n * n * c);
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++)
      for (let k = 0; k < c; k++) {
        const v = k === 3 ? 255 : 128 + 100 * Math.sin((x + seed * 3) / (4 + k)) * Math.cos((y - seed) / (5 + k)) + ((x * 7 + y * 13 + seed * 31 + k * 5) % 23);
        data[(y * n + x) * c + k] = v;
      }
  return { data, width: n, height: n, channels: c };
}

/** Softmax (float64) for comparing logits and probabilities. */
export function softmax(xs: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < xs.length; i++) max = Math.max(max, xs[i] as number);
  const e = Array.from({ length: xs.length }, (_, i) => Math.exp((xs[i] as number) - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if ((xs[i] as number) > (xs[best] as number)) best = i;
  return best;
}
