/**
 * The MobileNetV2 benchmark fixture: the standard MobileNetV2 architecture (width 1.0, 224×224×3,
 * 1000 classes) with seeded random weights, in two forms holding the same weights:
 *
 * - `tfjs/model.json` + `tfjs/weights.bin`: a tfjs layers model, NHWC input [1,224,224,3], logits;
 * - `model.onnx`: ONNX opset 13, NCHW input `input` [1,3,224,224], output `logits` [1,1000];
 *
 * plus `card.json` (to publish it to the registry) and `meta.json` (multiply-adds, parameters,
 * seed, file hashes). Deployment form: BatchNorm folded into each conv's weights and bias, as
 * tfjs-converter and `torch.onnx.export` (eval) produce. He-scaled weights keep activations in
 * range through the 53 layers, so the logits have a real spread (checked by the parity test).
 * Deterministic: the same bytes every run. Node-only.
 *
 *   npx tsx scripts/make-mobilenet.ts [--out bench/fixtures/mobilenetv2]   (npm run bench:fixture)
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { encodeOnnx, type OnnxInitializer, type OnnxNode } from './onnx-proto.js';

const REPO = path.resolve(import.meta.dirname, '..');
const SEED = 20261122;
const SIZE = 224;
const CLASSES = 1000;
/** (expansion t, output channels c, repeats n, first stride s), as in the MobileNetV2 paper. */
const BLOCKS: ReadonlyArray<readonly [number, number, number, number]> = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/** mulberry32 + Box–Muller: a seeded normal generator. */
function normal(seed: number): () => number {
  let a = seed >>> 0;
  const u = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}

const randn = normal(SEED);
const fill = (n: number, std: number): Float32Array => Float32Array.from({ length: n }, () => randn() * std);

/** One conv layer in both layouts. */
interface Conv {
  readonly name: string;
  readonly k: number;
  readonly stride: number;
  readonly cin: number;
  readonly cout: number;
  readonly depthwise: boolean;
  readonly relu6: boolean;
  /** tfjs layout: [k, k, cin, cout] (depthwise: [k, k, c, 1]). */
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
}

function makeConv(name: string, k: number, stride: number, cin: number, cout: number, depthwise: boolean, relu6: boolean): Conv {
  const fanIn = depthwise ? k * k : k * k * cin;
  // He init for ReLU6 layers; linear bottlenecks get 1/fan_in so residual sums stay bounded.
  const std = Math.sqrt((relu6 ? 2 : 1) / fanIn);
  const kernel = fill(depthwise ? k * k * cin : k * k * cin * cout, std);
  const bias = fill(cout, 0.05);
  return { name, k, stride, cin, cout, depthwise, relu6, kernel, bias };
}

/** TF 'same' padding for one spatial axis: [before, after]. */
function samePads(inSize: number, k: number, stride: number): [number, number] {
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + k - inSize, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** tfjs [k,k,cin,cout] → ONNX [cout,cin,k,k]; depthwise [k,k,c,1] → [c,1,k,k]. */
function toOihw(c: Conv): { data: Float32Array; dims: number[] } {
  const { k, cin, cout } = c;
  if (c.depthwise) {
    const out = new Float32Array(cin * k * k);
    for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) for (let ch = 0; ch < cin; ch++) out[ch * k * k + y * k + x] = c.kernel[(y * k + x) * cin + ch] as number;
    return { data: out, dims: [cin, 1, k, k] };
  }
  const out = new Float32Array(cout * cin * k * k);
  for (let y = 0; y < k; y++)
    for (let x = 0; x < k; x++)
      for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) out[((o * cin + i) * k + y) * k + x] = c.kernel[((y * k + x) * cin + i) * cout + o] as number;
  return { data: out, dims: [cout, cin, k, k] };
}

function main(): void {
  const outIdx = process.argv.indexOf('--out');
  const out = path.resolve(outIdx > 0 ? (process.argv[outIdx + 1] as string) : path.join(REPO, 'bench/fixtures/mobilenetv2'));
  const t0 = Date.now();

  // ---- Layers: the conv list in order, and the graph wiring ----
  type Step = { conv: Conv } | { add: { a: string; b: string; name: string } };
  const steps: Step[] = [];
  let cin = 3;
  let hw = SIZE;
  let macs = 0;
  const convOut = (c: Conv) => {
    hw = Math.ceil(hw / c.stride);
    macs += hw * hw * c.k * c.k * (c.depthwise ? c.cin : c.cin * c.cout);
  };
  const stem = makeConv('stem', 3, 2, 3, 32, false, true);
  steps.push({ conv: stem });
  convOut(stem);
  cin = 32;
  let blockNo = 0;
  for (const [t, c, n, s] of BLOCKS) {
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      const hidden = cin * t;
      const b = `block${blockNo++}`;
      const residual = stride === 1 && cin === c;
      const inName = `${b}_in`;
      if (t !== 1) {
        const e = makeConv(`${b}_expand`, 1, 1, cin, hidden, false, true);
        steps.push({ conv: e });
        convOut(e);
      }
      const d = makeConv(`${b}_dw`, 3, stride, hidden, hidden, true, true);
      steps.push({ conv: d });
      convOut(d);
      const p = makeConv(`${b}_project`, 1, 1, hidden, c, false, false);
      steps.push({ conv: p });
      convOut(p);
      if (residual) steps.push({ add: { a: inName, b: `${b}_project`, name: `${b}_add` } });
      cin = c;
    }
  }
  const last = makeConv('last', 1, 1, cin, 1280, false, true);
  steps.push({ conv: last });
  convOut(last);
  const dense = { kernel: fill(1280 * CLASSES, Math.sqrt(1 / 1280)), bias: fill(CLASSES, 0.05) };
  macs += 1280 * CLASSES;

  // ---- tfjs layers model (functional API) ----
  const input = tf.input({ shape: [SIZE, SIZE, 3], name: 'input' });
  let x = input as tf.SymbolicTensor;
  const weights: tf.Tensor[] = [];
  const layers: Array<{ layer: tf.layers.Layer; w: Float32Array[]; shapes: number[][] }> = [];
  let blockInput = x;
  let currentBlock = '';
  for (const st of steps) {
    if ('add' in st) {
      x = tf.layers.add({ name: st.add.name }).apply([blockInput, x]) as tf.SymbolicTensor;
      continue;
    }
    const c = st.conv;
    const blk = c.name.split('_')[0] as string;
    if (blk !== currentBlock) {
      currentBlock = blk;
      blockInput = x;
    }
    const common = { name: c.name, kernelSize: c.k, strides: c.stride, padding: 'same' as const, useBias: true, activation: (c.relu6 ? 'relu6' : 'linear') as 'relu6' | 'linear' };
    const layer = c.depthwise
      ? tf.layers.depthwiseConv2d({ ...common, depthMultiplier: 1, depthwiseInitializer: 'zeros' })
      : tf.layers.conv2d({ ...common, filters: c.cout, kernelInitializer: 'zeros' });
    x = layer.apply(x) as tf.SymbolicTensor;
    layers.push({ layer, w: [c.kernel, c.bias], shapes: [c.depthwise ? [c.k, c.k, c.cin, 1] : [c.k, c.k, c.cin, c.cout], [c.cout]] });
  }
  x = tf.layers.globalAveragePooling2d({ name: 'pool', dataFormat: 'channelsLast' }).apply(x) as tf.SymbolicTensor;
  const fc = tf.layers.dense({ name: 'logits', units: CLASSES, kernelInitializer: 'zeros' });
  x = fc.apply(x) as tf.SymbolicTensor;
  layers.push({ layer: fc, w: [dense.kernel, dense.bias], shapes: [[1280, CLASSES], [CLASSES]] });
  const model = tf.model({ inputs: input, outputs: x, name: 'mobilenetv2_bench' });
  for (const { layer, w, shapes } of layers) {
    const ts = w.map((d, i) => tf.tensor(d, shapes[i]));
    layer.setWeights(ts);
    weights.push(...ts);
  }
  const params = model.countParams();

  // ---- ONNX graph (NCHW) ----
  const nodes: OnnxNode[] = [];
  const inits: OnnxInitializer[] = [
    { name: 'clip_min', dims: [], data: new Float32Array([0]) },
    { name: 'clip_max', dims: [], data: new Float32Array([6]) },
  ];
  let cur = 'input';
  let curHw = SIZE;
  let bIn = cur;
  currentBlock = '';
  for (const st of steps) {
    if ('add' in st) {
      nodes.push({ op: 'Add', name: st.add.name, inputs: [bIn, cur], outputs: [st.add.name] });
      cur = st.add.name;
      continue;
    }
    const c = st.conv;
    const blk = c.name.split('_')[0] as string;
    if (blk !== currentBlock) {
      currentBlock = blk;
      bIn = cur;
    }
    const w = toOihw(c);
    inits.push({ name: `${c.name}_W`, dims: w.dims, data: w.data }, { name: `${c.name}_B`, dims: [c.cout], data: c.bias });
    const [pt, pb] = samePads(curHw, c.k, c.stride);
    curHw = Math.ceil(curHw / c.stride);
    const conv = c.relu6 ? `${c.name}_conv` : c.name;
    nodes.push({
      op: 'Conv',
      name: conv,
      inputs: [cur, `${c.name}_W`, `${c.name}_B`],
      outputs: [conv],
      attrs: { kernel_shape: [c.k, c.k], strides: [c.stride, c.stride], pads: [pt, pt, pb, pb], dilations: [1, 1], group: c.depthwise ? c.cin : 1 },
    });
    if (c.relu6) nodes.push({ op: 'Clip', name: c.name, inputs: [conv, 'clip_min', 'clip_max'], outputs: [c.name] });
    cur = c.name;
  }
  nodes.push({ op: 'GlobalAveragePool', name: 'pool', inputs: [cur], outputs: ['pool'] });
  nodes.push({ op: 'Flatten', name: 'flatten', inputs: ['pool'], outputs: ['flat'], attrs: { axis: 1 } });
  inits.push({ name: 'fc_W', dims: [1280, CLASSES], data: dense.kernel }, { name: 'fc_B', dims: [CLASSES], data: dense.bias });
  nodes.push({ op: 'Gemm', name: 'logits', inputs: ['flat', 'fc_W', 'fc_B'], outputs: ['logits'], attrs: { transA: 0, transB: 0 } });
  const onnx = encodeOnnx({
    name: 'mobilenetv2_bench',
    producer: 'webinfer scripts/make-mobilenet.ts',
    opset: 13,
    nodes,
    initializers: inits,
    inputs: [{ name: 'input', dims: [1, 3, SIZE, SIZE] }],
    outputs: [{ name: 'logits', dims: [1, CLASSES] }],
  });

  // ---- write ----
  mkdirSync(path.join(out, 'tfjs'), { recursive: true });
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  const files: Record<string, string> = {};
  const write = (rel: string, data: Uint8Array | string) => {
    const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    writeFileSync(path.join(out, rel), buf);
    files[rel] = sha(buf);
  };
  write('model.onnx', onnx);
  return void model
    .save(
      tf.io.withSaveHandler(async (artifacts) => {
        const data = artifacts.weightData as ArrayBuffer;
        write('tfjs/weights.bin', new Uint8Array(data));
        const json = {
          format: 'layers-model',
          generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
          convertedBy: 'webinfer scripts/make-mobilenet.ts',
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        };
        write('tfjs/model.json', JSON.stringify(json));
        const card = {
          task: 'image-classification',
          description: `Benchmark fixture: the MobileNetV2 architecture (width 1.0, 224x224 RGB, 1000 classes, BatchNorm folded) with seeded random weights (seed ${SEED}). Not a trained model: its labels mean nothing.`,
          labels: Array.from({ length: CLASSES }, (_, i) => `class ${i}`),
          preprocess: { width: SIZE, height: SIZE, channels: 3, scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], layout: 'nhwc' },
          output: 'logits',
          license: 'MIT (generated by webinfer scripts/make-mobilenet.ts)',
          source: 'scripts/make-mobilenet.ts (npm run bench:fixture)',
        };
        write('tfjs/card.json', JSON.stringify(card, null, 2) + '\n');
        const meta = { architecture: 'MobileNetV2 1.0 / 224', seed: SEED, macs, params, onnx: { input: 'input [1,3,224,224] NCHW', output: 'logits [1,1000]', opset: 13 }, tfjs: { input: '[1,224,224,3] NHWC', output: 'logits [1,1000]', format: 'layers-model' }, files };
        writeFileSync(path.join(out, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
        weights.forEach((w) => w.dispose());
        console.log(`MobileNetV2 fixture in ${path.relative(REPO, out)}: ${(macs / 1e6).toFixed(1)} M multiply-adds, ${(params / 1e6).toFixed(2)} M parameters, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        for (const [f, h] of Object.entries(files)) console.log(`  ${f}  sha256 ${h}`);
        return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
      }),
    )
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}

main();
