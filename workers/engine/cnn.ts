/**
 * Small convolutional networks on webinfer's engine (`native/engine.c`, JOB_CNN): a tfjs layers model
 * made only of Conv2D, MaxPooling2D, Flatten, Dense, Dropout, Activation and ReLU layers (channels-last,
 * no dilation) is compiled once into a program of engine ops over weights packed in panels; a batch
 * then runs as ONE call into WebAssembly, with no tfjs kernel (and no thread-pool wake-up) per layer.
 * Such a model is small, so the thread count is chosen per model by measurement at load: the forward
 * pass is timed with one thread and with all, at batch 1 and at a larger batch, and each batch size
 * runs with the faster count (`model.info.runtime` says which and why).
 *
 * Anything else (another layer, a functional graph, channels-first) is not compiled: {@link compileCnn}
 * says why, and the task runs the model on tfjs instead.
 *
 * @example
 * const plan = compileCnn(layersModel);            // { ok: true, plan } or { ok: false, reason }
 * if (plan.ok) {
 *   const cnn = await EngineCnn.create(engine, plan.plan, layersModel);
 *   const probs = cnn.forward(pixelsNHWC, 1);       // Float32Array [1 × 10]
 *   cnn.dispose();
 * }
 */
import type * as tf from '@tensorflow/tfjs-core';
import { packFloat, packedLength } from '../../src/shared/quant/panels.js';
import { JOB, type Engine, type Region } from './engine.js';

/** Engine op codes and epilogues (see `native/engine.c`). */
const OP = { conv: 1, maxpool: 2, dense: 3, softmax: 4 } as const;
const EPI = { none: 0, relu: 4, relu6: 5 } as const;
const OP_WORDS = 24;
/** Most images per engine call (a larger batch runs in chunks of this many). */
export const CHUNK = 8;

/** One layer as the engine runs it (shapes per image; the batch size is given per run). */
export type CnnLayer =
  | { readonly op: 'conv'; readonly H: number; readonly W: number; readonly C: number; readonly OH: number; readonly OW: number; readonly N: number; readonly kh: number; readonly kw: number; readonly sh: number; readonly sw: number; readonly pt: number; readonly pl: number; readonly epi: number; readonly weights: number }
  | { readonly op: 'maxpool'; readonly H: number; readonly W: number; readonly C: number; readonly OH: number; readonly OW: number; readonly ph: number; readonly pw: number; readonly sh: number; readonly sw: number; readonly pt: number; readonly pl: number }
  | { readonly op: 'dense'; readonly K: number; readonly N: number; readonly epi: number; readonly weights: number }
  | { readonly op: 'softmax'; readonly N: number };

/** A compiled model: its layers, input shape [H, W, C], output size. `weights` index the layers holding weights. */
export interface CnnPlan {
  readonly layers: readonly CnnLayer[];
  readonly input: readonly [number, number, number];
  readonly outputs: number;
  /** The tfjs layers whose weights (kernel, bias) the plan's conv/dense layers use, by their `weights` index. */
  readonly weightLayers: readonly number[];
}

/** The parts of a tfjs layer this reads (public API of tfjs-layers). */
interface LayerLike {
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  getWeights(): tf.Tensor[];
  readonly inboundNodes?: ReadonlyArray<{ readonly inboundLayers: readonly unknown[] }>;
}
interface ModelLike {
  readonly layers: readonly unknown[];
  readonly inputs: ReadonlyArray<{ readonly shape: ReadonlyArray<number | null> }>;
  readonly outputs: readonly unknown[];
}

const pair = (v: unknown, what: string): [number, number] => {
  const a = Array.isArray(v) ? v : [v, v];
  const [x, y] = a as [unknown, unknown];
  if (typeof x !== 'number' || typeof y !== 'number') throw new Unsupported(`${what} is ${JSON.stringify(v)}`);
  return [x, y];
};

class Unsupported extends Error {}

/** Output size and leading pad of one spatial axis, as tfjs computes them. */
function axis(inSize: number, k: number, s: number, padding: string): { out: number; pad: number } {
  if (padding === 'valid') return { out: Math.floor((inSize - k) / s) + 1, pad: 0 };
  if (padding === 'same') {
    const out = Math.ceil(inSize / s);
    const total = Math.max((out - 1) * s + k - inSize, 0);
    return { out, pad: Math.floor(total / 2) };
  }
  throw new Unsupported(`padding "${padding}"`);
}

function activationEpi(name: unknown, where: string): number {
  if (name === undefined || name === null || name === 'linear') return EPI.none;
  if (name === 'relu') return EPI.relu;
  if (name === 'relu6') return EPI.relu6;
  throw new Unsupported(`${where}: activation "${String(name)}"`);
}

/**
 * Compiles a tfjs layers model for the engine, or says why it cannot.
 *
 * @example
 * compileCnn(fashionCnn); // { ok: true, plan: { layers: [conv, maxpool, conv, maxpool, conv, dense, dense, softmax], input: [28, 28, 1], outputs: 10, … } }
 * compileCnn(mobilenet);  // { ok: false, reason: 'layer 2 (BatchNormalization) is not supported' }
 */
export function compileCnn(model: ModelLike): { ok: true; plan: CnnPlan } | { ok: false; reason: string } {
  try {
    return { ok: true, plan: compile(model) };
  } catch (e) {
    if (e instanceof Unsupported) return { ok: false, reason: e.message };
    throw e;
  }
}

function compile(model: ModelLike): CnnPlan {
  const layers = model.layers as readonly LayerLike[];
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new Unsupported('the model has several inputs or outputs');
  const shape = model.inputs[0]!.shape;
  if (shape.length !== 4 || shape.slice(1).some((d) => typeof d !== 'number')) throw new Unsupported(`input shape ${JSON.stringify(shape)} (want [batch, height, width, channels])`);
  let [H, W, C] = shape.slice(1) as [number, number, number];
  const input = [H, W, C] as const;
  let flat: number | undefined; // set once flattened: the vector size
  const out: CnnLayer[] = [];
  const weightLayers: number[] = [];
  let softmaxed = false;
  layers.forEach((layer, i) => {
    const cls = layer.getClassName();
    const cfg = layer.getConfig();
    const where = `layer ${i} (${cls})`;
    // A chain: each layer's only input is the layer before it.
    const inbound = layer.inboundNodes?.[0]?.inboundLayers ?? [];
    if (i > 0 && cls !== 'InputLayer' && (inbound.length !== 1 || inbound[0] !== layers[i - 1])) throw new Unsupported(`${where} does not follow the layer before it (not a chain)`);
    if (softmaxed) throw new Unsupported(`${where} follows a softmax`);
    if (cfg['dataFormat'] != null && cfg['dataFormat'] !== 'channelsLast' && cfg['dataFormat'] !== 'channels_last') throw new Unsupported(`${where}: dataFormat ${String(cfg['dataFormat'])}`);
    switch (cls) {
      case 'InputLayer':
      case 'Dropout':
        return;
      case 'Flatten':
        flat ??= H * W * C;
        return;
      case 'Conv2D': {
        if (flat !== undefined) throw new Unsupported(`${where} after a Flatten`);
        const [dy, dx] = pair(cfg['dilationRate'] ?? 1, `${where}: dilation`);
        if (dy !== 1 || dx !== 1) throw new Unsupported(`${where}: dilation ${dy}×${dx}`);
        if ((cfg['groups'] ?? 1) !== 1) throw new Unsupported(`${where}: groups`);
        const [kh, kw] = pair(cfg['kernelSize'], `${where}: kernelSize`);
        const [sh, sw] = pair(cfg['strides'] ?? 1, `${where}: strides`);
        const padding = String(cfg['padding'] ?? 'valid');
        const y = axis(H, kh, sh, padding);
        const x = axis(W, kw, sw, padding);
        const N = cfg['filters'] as number;
        const epi = activationEpi(cfg['activation'], where);
        out.push({ op: 'conv', H, W, C, OH: y.out, OW: x.out, N, kh, kw, sh, sw, pt: y.pad, pl: x.pad, epi, weights: weightLayers.length });
        weightLayers.push(i);
        [H, W, C] = [y.out, x.out, N];
        return;
      }
      case 'MaxPooling2D': {
        if (flat !== undefined) throw new Unsupported(`${where} after a Flatten`);
        const [ph, pw] = pair(cfg['poolSize'], `${where}: poolSize`);
        const [sh, sw] = pair(cfg['strides'] ?? cfg['poolSize'], `${where}: strides`);
        const padding = String(cfg['padding'] ?? 'valid');
        const y = axis(H, ph, sh, padding);
        const x = axis(W, pw, sw, padding);
        out.push({ op: 'maxpool', H, W, C, OH: y.out, OW: x.out, ph, pw, sh, sw, pt: y.pad, pl: x.pad });
        [H, W] = [y.out, x.out];
        return;
      }
      case 'Dense': {
        // A Dense on a 4-D tensor acts on its last axis only: not a vector layer.
        if (flat === undefined && !(H === 1 && W === 1)) throw new Unsupported(`${where} on a ${H}×${W}×${C} tensor (no Flatten before it)`);
        const K = flat ?? C;
        const N = cfg['units'] as number;
        const act = cfg['activation'];
        const epi = act === 'softmax' ? EPI.none : activationEpi(act, where);
        out.push({ op: 'dense', K, N, epi, weights: weightLayers.length });
        weightLayers.push(i);
        if (act === 'softmax') {
          out.push({ op: 'softmax', N });
          softmaxed = true;
        }
        flat = N;
        return;
      }
      case 'Activation':
      case 'ReLU': {
        const act = cls === 'ReLU' ? (cfg['maxValue'] === 6 ? 'relu6' : cfg['maxValue'] == null && true ? 'relu' : 'unsupported ReLU options') : cfg['activation'];
        const last = out[out.length - 1];
        if (act === 'softmax' && flat !== undefined) {
          out.push({ op: 'softmax', N: flat });
          softmaxed = true;
          return;
        }
        // relu / relu6 right after a conv or dense layer with no activation of its own: into its epilogue.
        if (last && (last.op === 'conv' || last.op === 'dense') && last.epi === EPI.none && (act === 'relu' || act === 'relu6')) {
          out[out.length - 1] = { ...last, epi: act === 'relu' ? EPI.relu : EPI.relu6 };
          return;
        }
        if (act === 'linear') return;
        throw new Unsupported(`${where}: activation "${String(act)}" here`);
      }
      default:
        throw new Unsupported(`${where} is not supported`);
    }
  });
  const outputs = flat ?? H * W * C;
  if (out.length === 0) throw new Unsupported('the model has no layer the engine runs');
  return { layers: out, input, outputs, weightLayers };
}

/** Floats of each layer's output for one image. */
function outSize(l: CnnLayer): number {
  switch (l.op) {
    case 'conv':
    case 'maxpool':
      return l.OH * l.OW * (l.op === 'conv' ? l.N : l.C);
    case 'dense':
    case 'softmax':
      return l.N;
  }
}

/** A run's memory: the program, the input and every layer's output (`acts[i]` is layer i's input), im2col scratch. */
interface Buffers {
  readonly prog: Region;
  readonly acts: readonly Region[];
  readonly cols: readonly (Region | undefined)[];
}

/** A compiled model in the engine's memory. */
export class EngineCnn {
  readonly plan: CnnPlan;
  readonly #engine: Engine;
  readonly #weights: Region[];
  /** Per conv/dense layer: its panels and bias. */
  readonly #params: { panels: Region; bias: Region }[];
  /** Buffers for the largest batch so far. */
  #capacity = 0;
  #buffers: Buffers | undefined;
  /** Threads per batch size: `upTo` images and fewer run with `small`, more with `large`. */
  #threads = { upTo: 0, small: 1, large: 1 };
  #threadReason = '';
  #disposed = false;

  private constructor(engine: Engine, plan: CnnPlan, params: { panels: Region; bias: Region }[]) {
    this.#engine = engine;
    this.plan = plan;
    this.#params = params;
    this.#weights = params.flatMap((p) => [p.panels, p.bias]);
    this.#threads = { upTo: Infinity, small: engine.threads, large: engine.threads };
  }

  /** Packs the weights of `model` (read through tfjs: any stored dtype arrives as float32) into the engine. */
  static create(engine: Engine, plan: CnnPlan, model: { readonly layers: readonly unknown[] }): EngineCnn {
    const params: { panels: Region; bias: Region }[] = [];
    try {
      for (const l of plan.layers) {
        if (l.op !== 'conv' && l.op !== 'dense') continue;
        const layer = model.layers[plan.weightLayers[l.weights] as number] as LayerLike;
        const [kernel, bias] = layer.getWeights();
        const K = l.op === 'conv' ? l.kh * l.kw * l.C : l.K;
        const N = l.N;
        if (!kernel || kernel.size !== K * N) throw new Error(`layer ${plan.weightLayers[l.weights]}: kernel of ${kernel?.size} values, expected ${K}×${N}`);
        const w = kernel.dataSync() as Float32Array; // [kh][kw][C][N] or [K][N]: K rows of N
        const panels = engine.alloc(packedLength(K, N) * 4);
        const b = engine.alloc(N * 4);
        params.push({ panels, bias: b });
        packFloat((i, row) => row.set(w.subarray(i * N, (i + 1) * N)), 'kn', K, N, engine.f32(panels, packedLength(K, N)));
        const bv = engine.f32(b, N);
        if (bias) bv.set(bias.dataSync() as Float32Array);
        else bv.fill(0);
      }
    } catch (e) {
      params.forEach((p) => {
        engine.free(p.panels);
        engine.free(p.bias);
      });
      throw e;
    }
    return new EngineCnn(engine, plan, params);
  }

  /** Bytes of the packed weights. */
  get weightBytes(): number {
    return this.#weights.reduce((s, r) => s + r.bytes, 0);
  }

  /** How many threads a batch of `b` images runs with, and why. */
  threadsFor(b: number): number {
    return b <= this.#threads.upTo ? this.#threads.small : this.#threads.large;
  }
  get threadReason(): string {
    return this.#threadReason;
  }

  #ensure(b: number): Buffers {
    if (this.#buffers && b <= this.#capacity) return this.#buffers;
    this.#freeBuffers();
    const e = this.#engine;
    // Products run on a row count rounded up to 4 (see native/engine.c): every buffer has 4 spare rows of the widest layer.
    const spare = 4 * Math.max(this.plan.input[2], ...this.plan.layers.map((l) => (l.op === 'conv' ? Math.max(l.N, l.C) : l.op === 'maxpool' ? l.C : l.op === 'dense' ? Math.max(l.K, l.N) : l.N)));
    const acts = [e.alloc((this.plan.input[0] * this.plan.input[1] * this.plan.input[2] * b + spare) * 4), ...this.plan.layers.map((l) => e.alloc((outSize(l) * b + spare) * 4))];
    const cols = this.plan.layers.map((l) => (l.op === 'conv' && !(l.kh === 1 && l.kw === 1 && l.sh === 1 && l.sw === 1 && l.pt === 0 && l.pl === 0) ? e.alloc((l.OH * l.OW * b + 4) * l.kh * l.kw * l.C * 4) : undefined));
    const prog = e.alloc(this.plan.layers.length * OP_WORDS * 4);
    this.#buffers = { prog, acts, cols };
    this.#capacity = b;
    return this.#buffers;
  }

  #freeBuffers(): void {
    const bufs = this.#buffers;
    if (!bufs) return;
    const e = this.#engine;
    e.free(bufs.prog);
    bufs.acts.forEach((r) => e.free(r));
    bufs.cols.forEach((r) => r && e.free(r));
    this.#buffers = undefined;
    this.#capacity = 0;
  }

  /**
   * Runs `b` images (NHWC float32, already pre-processed) and returns the model's outputs, `b × outputs`
   * (a copy, safe to keep).
   */
  forward(x: Float32Array, b: number, threads?: number): Float32Array {
    if (this.#disposed) throw new Error('the model was disposed');
    const [H, W, C] = this.plan.input;
    if (x.length !== b * H * W * C) throw new RangeError(`input of ${x.length} values, expected ${b}×${H}×${W}×${C}`);
    if (b <= CHUNK) return this.#run(x, b, threads ?? this.threadsFor(b));
    // Larger batches run CHUNK images at a time: memory stays bounded (and allocated once), each row's bits the same.
    const out = new Float32Array(b * this.plan.outputs);
    const per = H * W * C;
    for (let i = 0; i < b; i += CHUNK) {
      const n = Math.min(CHUNK, b - i);
      out.set(this.#run(x.subarray(i * per, (i + n) * per), n, threads ?? this.threadsFor(n)), i * this.plan.outputs);
    }
    return out;
  }

  #run(x: Float32Array, b: number, threads: number): Float32Array {
    const e = this.#engine;
    const bufs = this.#ensure(b);
    e.f32(bufs.acts[0] as Region, x.length).set(x);
    const prog = e.u32(bufs.prog, this.plan.layers.length * OP_WORDS);
    prog.fill(0);
    this.plan.layers.forEach((l, i) => {
      const o = i * OP_WORDS;
      const src = (bufs.acts[i] as Region).ptr;
      const dst = (bufs.acts[i + 1] as Region).ptr;
      const words: number[] = [];
      switch (l.op) {
        case 'conv': {
          const p = this.#params[l.weights]!;
          words.push(OP.conv, src, dst, b, l.H, l.W, l.C, l.OH, l.OW, l.N, l.kh, l.kw, l.sh, l.sw, l.pt, l.pl, p.panels.ptr, p.bias.ptr, l.epi, bufs.cols[i]?.ptr ?? 0);
          break;
        }
        case 'maxpool':
          words.push(OP.maxpool, src, dst, b, l.H, l.W, l.C, l.OH, l.OW, l.ph, l.pw, l.sh, l.sw, l.pt, l.pl);
          break;
        case 'dense': {
          const p = this.#params[l.weights]!;
          words.push(OP.dense, src, dst, b, l.K, l.N, p.panels.ptr, p.bias.ptr, l.epi);
          break;
        }
        case 'softmax':
          // In place, on the layer before's output (this layer's own buffer stays unused).
          words.push(OP.softmax, src, b, l.N);
          break;
      }
      prog.set(words, o);
    });
    e.run(JOB.cnn, [bufs.prog.ptr, this.plan.layers.length], threads);
    return e.f32(bufs.acts[this.#outputBuffer()] as Region, b * this.plan.outputs).slice();
  }

  /** The activation buffer holding the final output (a trailing softmax works in place on the one before it). */
  #outputBuffer(): number {
    let n = this.plan.layers.length;
    while (n > 0 && this.plan.layers[n - 1]!.op === 'softmax') n--;
    return n;
  }

  /**
   * Chooses the thread count per batch size by timing the forward pass (after one untimed run each): at batch
   * 1 and at `batch` (at most a chunk), with one thread and with all the engine has. Also allocates the buffers
   * of a chunk, so that memory does not grow with later batches. Returns the reason it records.
   */
  tuneThreads(batch: number, runs = 5): string {
    const n = this.#engine.threads;
    const [H, W, C] = this.plan.input;
    const big = Math.min(CHUNK, Math.max(2, batch));
    // The buffers of the largest run (a chunk) are allocated now, once: later batches do not grow memory.
    this.#ensure(Math.min(CHUNK, Math.max(1, batch)));
    if (n <= 1) {
      this.#threads = { upTo: Infinity, small: 1, large: 1 };
      this.#threadReason = 'the engine has one thread';
      return this.#threadReason;
    }
    const time = (b: number, t: number): number => {
      const x = new Float32Array(b * H * W * C).fill(0.5);
      this.forward(x, b, t);
      let best = Infinity;
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        this.forward(x, b, t);
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    };
    const s1 = time(1, 1), sN = time(1, n), b1 = time(big, 1), bN = time(big, n);
    const small = s1 <= sN ? 1 : n;
    const large = b1 <= bN ? 1 : n;
    this.#threads = { upTo: small === large ? Infinity : Math.floor(big / 2), small, large };
    const ms = (v: number): string => `${v.toFixed(3)} ms`;
    this.#threadReason =
      small === large
        ? `${small} thread${small > 1 ? 's' : ''}: batch 1 ${ms(s1)} with 1 vs ${ms(sN)} with ${n}; batch ${big} ${ms(b1)} vs ${ms(bN)}`
        : `${small} thread${small > 1 ? 's' : ''} up to batch ${Math.floor(big / 2)} (batch 1: ${ms(s1)} with 1 vs ${ms(sN)} with ${n}), ${large} above (batch ${big}: ${ms(b1)} vs ${ms(bN)})`;
    return this.#threadReason;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#freeBuffers();
    this.#weights.forEach((r) => this.#engine.free(r));
  }
}
